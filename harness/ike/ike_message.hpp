#pragma once
// IKEv2 messages as values (RFC 7296 section 3). The SK payload is kept opaque here: the
// crypto layer (sk_payload.hpp) seals and opens it; its plaintext is parsed with
// parse_payload_chain().
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.hpp"
#include "ike/bytes.hpp"

namespace ist::native {

enum class ExchangeType : uint8_t {
  ike_sa_init = 34,
  ike_auth = 35,
  create_child_sa = 36,
  informational = 37,
};

enum class PayloadType : uint8_t {
  none = 0,
  sa = 33,
  ke = 34,
  idi = 35,
  idr = 36,
  cert = 37,
  certreq = 38,
  auth = 39,
  nonce = 40,
  notify = 41,
  del = 42,
  vendor_id = 43,
  tsi = 44,
  tsr = 45,
  sk = 46,
  cp = 47,
  eap = 48,
};
std::string payload_name(PayloadType t);  // "SA", "KE", ..., "payload type 99"

namespace flags {
inline constexpr uint8_t initiator = 0x08;
inline constexpr uint8_t version = 0x10;
inline constexpr uint8_t response = 0x20;
}  // namespace flags

enum class ProtocolId : uint8_t { none = 0, ike = 1, ah = 2, esp = 3 };

enum class TransformType : uint8_t { encr = 1, prf = 2, integ = 3, dh = 4, esn = 5 };

// Transform ids used by the engine (IANA "IKEv2 Parameters").
namespace transform_id {
inline constexpr uint16_t encr_aes_cbc = 12;
inline constexpr uint16_t encr_aes_gcm_16 = 20;
inline constexpr uint16_t prf_hmac_sha2_256 = 5;
inline constexpr uint16_t integ_none = 0;
inline constexpr uint16_t integ_hmac_sha2_256_128 = 12;
inline constexpr uint16_t dh_modp2048 = 14;
inline constexpr uint16_t dh_ecp256 = 19;
inline constexpr uint16_t dh_x25519 = 31;
inline constexpr uint16_t esn_none = 0;
inline constexpr uint16_t esn_yes = 1;
}  // namespace transform_id

// Notify message types (RFC 7296 3.10.1 and registry).
namespace notify_type {
inline constexpr uint16_t unsupported_critical_payload = 1;
inline constexpr uint16_t invalid_ike_spi = 4;
inline constexpr uint16_t invalid_major_version = 5;
inline constexpr uint16_t invalid_syntax = 7;
inline constexpr uint16_t invalid_message_id = 9;
inline constexpr uint16_t invalid_spi = 11;
inline constexpr uint16_t no_proposal_chosen = 14;
inline constexpr uint16_t invalid_ke_payload = 17;
inline constexpr uint16_t authentication_failed = 24;
inline constexpr uint16_t single_pair_required = 34;
inline constexpr uint16_t no_additional_sas = 35;
inline constexpr uint16_t internal_address_failure = 36;
inline constexpr uint16_t failed_cp_required = 37;
inline constexpr uint16_t ts_unacceptable = 38;
inline constexpr uint16_t invalid_selectors = 39;
inline constexpr uint16_t temporary_failure = 43;
inline constexpr uint16_t child_sa_not_found = 44;
// Status types start at 16384.
inline constexpr uint16_t initial_contact = 16384;
inline constexpr uint16_t set_window_size = 16385;
inline constexpr uint16_t additional_ts_possible = 16386;
inline constexpr uint16_t ipcomp_supported = 16387;
inline constexpr uint16_t nat_detection_source_ip = 16388;
inline constexpr uint16_t nat_detection_destination_ip = 16389;
inline constexpr uint16_t cookie = 16390;
inline constexpr uint16_t use_transport_mode = 16391;
inline constexpr uint16_t rekey_sa = 16393;
inline constexpr uint16_t esp_tfc_padding_not_supported = 16394;
inline constexpr uint16_t non_first_fragments_also = 16395;
inline constexpr uint16_t mobike_supported = 16396;
inline constexpr uint16_t multiple_auth_supported = 16404;
inline constexpr uint16_t ikev2_fragmentation_supported = 16430;
inline constexpr uint16_t signature_hash_algorithms = 16431;
}  // namespace notify_type
inline bool is_error_notify(uint16_t type) { return type < 16384; }
std::string notify_name(uint16_t type);  // "NO_PROPOSAL_CHOSEN", "notify 12345"

namespace id_type {
inline constexpr uint8_t ipv4_addr = 1;
inline constexpr uint8_t fqdn = 2;
inline constexpr uint8_t rfc822_addr = 3;
inline constexpr uint8_t ipv6_addr = 5;
inline constexpr uint8_t key_id = 11;
}  // namespace id_type

namespace auth_method {
inline constexpr uint8_t shared_key_mic = 2;
}

namespace ts_type {
inline constexpr uint8_t ipv4_addr_range = 7;
inline constexpr uint8_t ipv6_addr_range = 8;
}

struct Header {
  uint64_t spi_i = 0;
  uint64_t spi_r = 0;
  PayloadType next_payload = PayloadType::none;  // filled in by serialize()
  uint8_t version = 0x20;                        // major 2, minor 0
  ExchangeType exchange = ExchangeType::ike_sa_init;
  uint8_t flags = 0;
  uint32_t message_id = 0;
  uint32_t length = 0;  // filled in by serialize()
  bool operator==(const Header&) const = default;
  bool is_response() const { return flags & flags::response; }
};
inline constexpr size_t header_size = 28;
inline constexpr size_t generic_header_size = 4;

struct Transform {
  TransformType type = TransformType::encr;
  uint16_t id = 0;
  std::optional<uint16_t> key_length;  // attribute 14 (TV), bits
  bool operator==(const Transform&) const = default;
};

struct Proposal {
  uint8_t number = 1;
  ProtocolId protocol = ProtocolId::ike;
  Bytes spi;  // empty in IKE_SA_INIT, 8 bytes for an IKE rekey, 4 for ESP
  std::vector<Transform> transforms;
  bool operator==(const Proposal&) const = default;
  // The first transform of a type, if any.
  const Transform* find(TransformType t) const;
};

struct SaPayload {
  std::vector<Proposal> proposals;
  bool operator==(const SaPayload&) const = default;
};

struct KePayload {
  uint16_t group = 0;
  Bytes data;
  bool operator==(const KePayload&) const = default;
};

struct NoncePayload {
  Bytes nonce;
  bool operator==(const NoncePayload&) const = default;
};

struct NotifyPayload {
  ProtocolId protocol = ProtocolId::none;
  Bytes spi;
  uint16_t type = 0;
  Bytes data;
  bool operator==(const NotifyPayload&) const = default;
};

struct IdPayload {  // IDi and IDr
  uint8_t id_type = id_type::fqdn;
  Bytes data;
  bool operator==(const IdPayload&) const = default;
};

struct AuthPayload {
  uint8_t method = auth_method::shared_key_mic;
  Bytes data;
  bool operator==(const AuthPayload&) const = default;
};

struct TrafficSelector {
  uint8_t type = ts_type::ipv4_addr_range;
  uint8_t ip_protocol = 0;  // 0 = any
  uint16_t start_port = 0;
  uint16_t end_port = 65535;
  Bytes start_address;  // 4 or 16 bytes, per type
  Bytes end_address;
  bool operator==(const TrafficSelector&) const = default;
};

struct TsPayload {  // TSi and TSr
  std::vector<TrafficSelector> selectors;
  bool operator==(const TsPayload&) const = default;
};

struct DeletePayload {
  ProtocolId protocol = ProtocolId::ike;
  uint8_t spi_size = 0;
  std::vector<Bytes> spis;  // each spi_size bytes
  bool operator==(const DeletePayload&) const = default;
};

// Encrypted and authenticated payload (3.14), opaque: IV | ciphertext | ICV.
struct SkPayload {
  PayloadType first_inner = PayloadType::none;
  Bytes body;
  bool operator==(const SkPayload&) const = default;
};

struct CpAttribute {
  uint16_t type = 0;
  Bytes value;
  bool operator==(const CpAttribute&) const = default;
};
struct CpPayload {
  uint8_t cfg_type = 1;  // CFG_REQUEST
  std::vector<CpAttribute> attributes;
  bool operator==(const CpPayload&) const = default;
};

// Payloads the engine does not interpret (vendor ID, CERTREQ, CERT, EAP, unknown
// non-critical types), kept byte for byte.
struct OpaquePayload {
  Bytes body;
  bool operator==(const OpaquePayload&) const = default;
};

using PayloadBody = std::variant<SaPayload, KePayload, NoncePayload, NotifyPayload, IdPayload,
                                 AuthPayload, TsPayload, DeletePayload, SkPayload, CpPayload,
                                 OpaquePayload>;

struct Payload {
  PayloadType type = PayloadType::none;
  bool critical = false;
  PayloadBody body;
  bool operator==(const Payload&) const = default;
};

struct Message {
  Header header;
  std::vector<Payload> payloads;
  bool operator==(const Message&) const = default;

  // First payload of a type whose body is T, or nullptr.
  template <class T>
  const T* find(PayloadType t) const {
    for (const auto& p : payloads)
      if (p.type == t)
        if (auto* b = std::get_if<T>(&p.body)) return b;
    return nullptr;
  }
  const NotifyPayload* find_notify(uint16_t type) const;
};

// Convenience constructors: the payload type comes from the body where it is unambiguous.
Payload make_payload(PayloadType type, PayloadBody body);

// Parses one datagram (without the non-ESP marker). Strict: the header's length must equal
// the datagram size, every payload and substructure length is checked, an SK payload must be
// last, an unknown critical payload is an error. Errors name the byte offset and payload.
Result<Message> parse_message(ByteView datagram);
// Parses a chain of payloads (e.g. the plaintext of an SK payload); `base_offset` is added to
// offsets in error messages.
Result<std::vector<Payload>> parse_payload_chain(PayloadType first, ByteView data,
                                                 size_t base_offset = 0);

// Serializes with the lengths and next-payload fields computed from the payloads.
Bytes serialize_message(const Message& m);
// Serializes a payload chain; the next-payload field of the last payload is `last_next`.
Bytes serialize_payload_chain(const std::vector<Payload>& payloads);

}  // namespace ist::native
