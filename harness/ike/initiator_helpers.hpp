#pragma once
// Small helpers shared by the initiator's translation units (not part of the public API).
#include <algorithm>

#include "ike/crypto.hpp"
#include "ike/ike_message.hpp"

namespace ist::native::detail {


inline constexpr uint8_t non_esp_marker[4] = {0, 0, 0, 0};

inline Bytes u32_bytes(uint32_t v) {
  Bytes b;
  put_u32(b, v);
  return b;
}

inline uint64_t random_u64() {
  auto r = random_bytes(8);
  return r ? get_u64(r->data()) : 0;
}

inline Bytes u64_bytes(uint64_t v) {
  Bytes b;
  put_u64(b, v);
  return b;
}

// ESP SPIs 1..255 are reserved (RFC 4303 2.1).
inline uint32_t random_esp_spi() {
  for (int i = 0; i < 16; ++i) {
    auto r = random_bytes(4);
    if (r && get_u32(r->data()) >= 256) return get_u32(r->data());
  }
  return 0;
}

template <class T>
const T* find_in(const std::vector<Payload>& chain, PayloadType t) {
  for (const auto& p : chain)
    if (p.type == t)
      if (auto* b = std::get_if<T>(&p.body)) return b;
  return nullptr;
}

inline const NotifyPayload* find_notify_in(const std::vector<Payload>& chain, uint16_t type) {
  for (const auto& p : chain)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == type) return n;
  return nullptr;
}

inline uint16_t first_error_notify(const std::vector<Payload>& chain) {
  for (const auto& p : chain)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && is_error_notify(n->type)) return n->type;
  return 0;
}

inline Payload notify(uint16_t type, Bytes data = {}, ProtocolId protocol = ProtocolId::none, Bytes spi = {}) {
  return make_payload(PayloadType::notify, NotifyPayload{protocol, std::move(spi), type, std::move(data)});
}

// RFC 7296 2.8.1 / 2.8.2: of two crossing rekeys of one SA, the SA made with the lowest of the
// four nonces is redundant. True when that nonce is one of our exchange's (our Ni, the peer's
// Nr). Nonces compare as unsigned octet strings.
inline bool our_exchange_made_the_redundant_sa(const Bytes& our_ni, const Bytes& peer_nr, const Bytes& peer_ni,
                                               const Bytes& our_nr) {
  const Bytes& ours = std::min(our_ni, peer_nr);
  const Bytes& theirs = std::min(peer_ni, our_nr);
  return ours < theirs;
}


}  // namespace ist::native::detail
