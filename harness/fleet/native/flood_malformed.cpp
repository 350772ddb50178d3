#include "fleet/native/flood_malformed.hpp"

#include <string>

namespace ist::native {

namespace {

constexpr size_t kHeader = 28;
constexpr uint8_t kUnknownPayload = 200;  // unassigned (private use) payload type
constexpr uint8_t kCritical = 0x80;

struct PayloadAt {
  size_t offset;  // of its generic header
  uint8_t type;
  uint16_t length;
};

// The cleartext payload chain (the SK payload, if any, is the last entry; its content is not
// walked).
Result<std::vector<PayloadAt>> payload_chain(ByteView ike) {
  if (ike.size() < kHeader) return Error("malform: shorter than an IKE header");
  std::vector<PayloadAt> out;
  uint8_t next = ike[16];
  size_t at = kHeader;
  while (next != static_cast<uint8_t>(PayloadType::none)) {
    if (at + 4 > ike.size()) return Error("malform: payload chain runs past the message");
    const uint16_t len = get_u16(ike.data() + at + 2);
    if (len < 4 || at + len > ike.size()) return Error("malform: bad payload length in the message");
    out.push_back({at, next, len});
    if (next == static_cast<uint8_t>(PayloadType::sk)) break;
    next = ike[at];
    at += len;
  }
  return out;
}

const PayloadAt* find(const std::vector<PayloadAt>& chain, PayloadType t) {
  for (const auto& p : chain)
    if (p.type == static_cast<uint8_t>(t)) return &p;
  return nullptr;
}

// Removes `count` bytes at `at` and fixes the lengths of the payload holding them and of the
// message.
void cut(Bytes& m, const PayloadAt& p, size_t at, size_t count) {
  m.erase(m.begin() + static_cast<std::ptrdiff_t>(at), m.begin() + static_cast<std::ptrdiff_t>(at + count));
  patch_u16(m, p.offset + 2, static_cast<uint16_t>(p.length - count));
  patch_u32(m, 24, static_cast<uint32_t>(m.size()));
}

}  // namespace

Result<Bytes> malform_ike(ByteView ike, MalformKind kind) {
  IST_TRY_ASSIGN(auto chain, payload_chain(ike));
  Bytes m(ike.begin(), ike.end());
  switch (kind) {
    case MalformKind::unknown_critical: {
      // Inserted first, so the receiver meets it before any SK payload.
      Bytes p;
      put_u8(p, m[16]);
      put_u8(p, kCritical);
      put_u16(p, 8);
      put_u32(p, 0x69737421);  // "ist!"
      m[16] = kUnknownPayload;
      m.insert(m.begin() + kHeader, p.begin(), p.end());
      patch_u32(m, 24, static_cast<uint32_t>(m.size()));
      return m;
    }
    case MalformKind::bad_version:
      m[17] = static_cast<uint8_t>(0x30 | (m[17] & 0x0f));
      return m;
    case MalformKind::short_nonce: {
      const PayloadAt* n = find(chain, PayloadType::nonce);
      if (!n) return Error("malform short_nonce: the message has no cleartext Nonce payload");
      if (n->length < 4 + 16) return Error("malform short_nonce: the nonce is already short");
      cut(m, *n, n->offset + 4 + 8, n->length - 4 - 8);
      return m;
    }
    case MalformKind::bad_ke: {
      const PayloadAt* k = find(chain, PayloadType::ke);
      if (!k) return Error("malform bad_ke: the message has no cleartext KE payload");
      if (k->length < 8 + 2) return Error("malform bad_ke: the KE payload has no key data");
      cut(m, *k, k->offset + k->length - 1, 1);
      return m;
    }
    case MalformKind::bad_length: {
      if (chain.empty()) return Error("malform bad_length: the message has no payload");
      const PayloadAt& first = chain.front();
      patch_u16(m, first.offset + 2, static_cast<uint16_t>(m.size() - first.offset + 4));
      return m;
    }
  }
  return Error("malform: unknown kind");
}

}  // namespace ist::native
