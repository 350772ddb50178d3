// IKEv2 wire format (RFC 7296 section 3): strict parser and serializer.
#include <string>

#include "ike/ike_message.hpp"

namespace ist::native {

std::string payload_name(PayloadType t) {
  switch (t) {
    case PayloadType::none: return "none";
    case PayloadType::sa: return "SA";
    case PayloadType::ke: return "KE";
    case PayloadType::idi: return "IDi";
    case PayloadType::idr: return "IDr";
    case PayloadType::cert: return "CERT";
    case PayloadType::certreq: return "CERTREQ";
    case PayloadType::auth: return "AUTH";
    case PayloadType::nonce: return "Nonce";
    case PayloadType::notify: return "Notify";
    case PayloadType::del: return "Delete";
    case PayloadType::vendor_id: return "Vendor ID";
    case PayloadType::tsi: return "TSi";
    case PayloadType::tsr: return "TSr";
    case PayloadType::sk: return "SK";
    case PayloadType::cp: return "CP";
    case PayloadType::eap: return "EAP";
  }
  return "payload type " + std::to_string(static_cast<int>(t));
}

std::string notify_name(uint16_t type) {
  namespace n = notify_type;
  switch (type) {
    case n::unsupported_critical_payload: return "UNSUPPORTED_CRITICAL_PAYLOAD";
    case n::invalid_ike_spi: return "INVALID_IKE_SPI";
    case n::invalid_major_version: return "INVALID_MAJOR_VERSION";
    case n::invalid_syntax: return "INVALID_SYNTAX";
    case n::invalid_message_id: return "INVALID_MESSAGE_ID";
    case n::invalid_spi: return "INVALID_SPI";
    case n::no_proposal_chosen: return "NO_PROPOSAL_CHOSEN";
    case n::invalid_ke_payload: return "INVALID_KE_PAYLOAD";
    case n::authentication_failed: return "AUTHENTICATION_FAILED";
    case n::single_pair_required: return "SINGLE_PAIR_REQUIRED";
    case n::no_additional_sas: return "NO_ADDITIONAL_SAS";
    case n::internal_address_failure: return "INTERNAL_ADDRESS_FAILURE";
    case n::failed_cp_required: return "FAILED_CP_REQUIRED";
    case n::ts_unacceptable: return "TS_UNACCEPTABLE";
    case n::invalid_selectors: return "INVALID_SELECTORS";
    case n::temporary_failure: return "TEMPORARY_FAILURE";
    case n::child_sa_not_found: return "CHILD_SA_NOT_FOUND";
    case n::initial_contact: return "INITIAL_CONTACT";
    case n::set_window_size: return "SET_WINDOW_SIZE";
    case n::additional_ts_possible: return "ADDITIONAL_TS_POSSIBLE";
    case n::ipcomp_supported: return "IPCOMP_SUPPORTED";
    case n::nat_detection_source_ip: return "NAT_DETECTION_SOURCE_IP";
    case n::nat_detection_destination_ip: return "NAT_DETECTION_DESTINATION_IP";
    case n::cookie: return "COOKIE";
    case n::use_transport_mode: return "USE_TRANSPORT_MODE";
    case n::rekey_sa: return "REKEY_SA";
    case n::esp_tfc_padding_not_supported: return "ESP_TFC_PADDING_NOT_SUPPORTED";
    case n::non_first_fragments_also: return "NON_FIRST_FRAGMENTS_ALSO";
    case n::mobike_supported: return "MOBIKE_SUPPORTED";
    case n::multiple_auth_supported: return "MULTIPLE_AUTH_SUPPORTED";
    case n::ikev2_fragmentation_supported: return "IKEV2_FRAGMENTATION_SUPPORTED";
    case n::signature_hash_algorithms: return "SIGNATURE_HASH_ALGORITHMS";
    default: return "notify " + std::to_string(type);
  }
}

const Transform* Proposal::find(TransformType t) const {
  for (const auto& tr : transforms)
    if (tr.type == t) return &tr;
  return nullptr;
}

const NotifyPayload* Message::find_notify(uint16_t type) const {
  for (const auto& p : payloads)
    if (auto* n = std::get_if<NotifyPayload>(&p.body); n && n->type == type) return n;
  return nullptr;
}

Payload make_payload(PayloadType type, PayloadBody body) {
  return Payload{.type = type, .critical = false, .body = std::move(body)};
}

// ---------------------------------------------------------------------------------------
// Parsing

namespace {

constexpr uint16_t attr_key_length = 14;
constexpr uint16_t attr_format_tv = 0x8000;

// A bounded view over part of the datagram that knows its absolute offset, so every error
// says where in the message it happened.
class Cursor {
 public:
  Cursor(ByteView data, size_t base, std::string what) : d_(data), base_(base), what_(std::move(what)) {}
  size_t remaining() const { return d_.size() - pos_; }
  size_t offset() const { return base_ + pos_; }
  bool done() const { return pos_ == d_.size(); }

  Error fail(const std::string& why) const { return fail_at(offset(), why); }
  Error fail_at(size_t at, const std::string& why) const {
    return Error("IKE message: " + what_ + " at byte " + std::to_string(at) + ": " + why);
  }
  Result<uint8_t> u8(const char* field) {
    IST_TRY(need(1, field));
    return d_[pos_++];
  }
  Result<uint16_t> u16(const char* field) {
    IST_TRY(need(2, field));
    uint16_t v = get_u16(&d_[pos_]);
    pos_ += 2;
    return v;
  }
  Result<uint32_t> u32(const char* field) {
    IST_TRY(need(4, field));
    uint32_t v = get_u32(&d_[pos_]);
    pos_ += 4;
    return v;
  }
  Result<uint64_t> u64(const char* field) {
    IST_TRY(need(8, field));
    uint64_t v = get_u64(&d_[pos_]);
    pos_ += 8;
    return v;
  }
  Result<Bytes> bytes(size_t n, const char* field) {
    IST_TRY(need(n, field));
    Bytes b(d_.begin() + static_cast<std::ptrdiff_t>(pos_),
            d_.begin() + static_cast<std::ptrdiff_t>(pos_ + n));
    pos_ += n;
    return b;
  }
  Bytes rest() {
    Bytes b(d_.begin() + static_cast<std::ptrdiff_t>(pos_), d_.end());
    pos_ = d_.size();
    return b;
  }
  // A sub-cursor over the next n bytes (for a substructure with its own length).
  Result<Cursor> sub(size_t n, std::string what) {
    IST_TRY(need(n, what.c_str()));
    Cursor c(d_.subspan(pos_, n), offset(), std::move(what));
    pos_ += n;
    return c;
  }
  Status expect_done() const {
    if (!done()) return fail(std::to_string(remaining()) + " trailing bytes");
    return ok();
  }

 private:
  Status need(size_t n, const char* field) const {
    if (remaining() < n)
      return fail(std::string("truncated ") + field + " (need " + std::to_string(n) + ", have " +
                  std::to_string(remaining()) + ")");
    return ok();
  }
  ByteView d_;
  size_t base_;
  size_t pos_ = 0;
  std::string what_;
};

Result<Transform> parse_transform(Cursor& c) {
  Transform t;
  size_t type_at = c.offset();
  IST_TRY_ASSIGN(uint8_t type, c.u8("transform type"));
  IST_TRY(c.u8("reserved"));
  IST_TRY_ASSIGN(t.id, c.u16("transform id"));
  if (type < 1 || type > 5) return c.fail_at(type_at, "unknown transform type " + std::to_string(type));
  t.type = static_cast<TransformType>(type);
  while (!c.done()) {
    size_t at = c.offset();
    IST_TRY_ASSIGN(uint16_t attr, c.u16("attribute type"));
    if (!(attr & attr_format_tv) || (attr & 0x7fff) != attr_key_length)
      return c.fail_at(at, "unsupported transform attribute " + std::to_string(attr & 0x7fff));
    if (t.key_length) return c.fail_at(at, "duplicate key length attribute");
    IST_TRY_ASSIGN(t.key_length, c.u16("key length"));
  }
  return t;
}

Result<Proposal> parse_proposal(Cursor& c) {
  Proposal p;
  IST_TRY_ASSIGN(p.number, c.u8("proposal number"));
  IST_TRY_ASSIGN(uint8_t protocol, c.u8("protocol id"));
  if (protocol < 1 || protocol > 3) return c.fail("unknown protocol id " + std::to_string(protocol));
  p.protocol = static_cast<ProtocolId>(protocol);
  IST_TRY_ASSIGN(uint8_t spi_size, c.u8("SPI size"));
  IST_TRY_ASSIGN(uint8_t count, c.u8("transform count"));
  IST_TRY_ASSIGN(p.spi, c.bytes(spi_size, "SPI"));
  for (uint8_t i = 0; i < count; ++i) {
    size_t at = c.offset();
    IST_TRY_ASSIGN(uint8_t last, c.u8("transform last"));
    IST_TRY(c.u8("reserved"));
    IST_TRY_ASSIGN(uint16_t len, c.u16("transform length"));
    bool should_be_last = i + 1 == count;
    if (last != (should_be_last ? 0 : 3))
      return c.fail_at(at, "transform " + std::to_string(i + 1) + " of " + std::to_string(count) +
                               " has last-substructure " + std::to_string(last));
    if (len < 8) return c.fail_at(at, "transform length " + std::to_string(len) + " < 8");
    IST_TRY_ASSIGN(auto sub, c.sub(len - 4u, "SA transform"));
    IST_TRY_ASSIGN(auto t, parse_transform(sub));
    p.transforms.push_back(t);
  }
  IST_TRY(c.expect_done());
  return p;
}

Result<SaPayload> parse_sa(Cursor& c) {
  SaPayload sa;
  bool last_seen = false;
  while (!c.done()) {
    size_t at = c.offset();
    if (last_seen) return c.fail("data after the last proposal");
    IST_TRY_ASSIGN(uint8_t last, c.u8("proposal last"));
    IST_TRY(c.u8("reserved"));
    IST_TRY_ASSIGN(uint16_t len, c.u16("proposal length"));
    if (last != 0 && last != 2) return c.fail_at(at, "bad last-substructure " + std::to_string(last));
    if (len < 8) return c.fail_at(at, "proposal length " + std::to_string(len) + " < 8");
    last_seen = last == 0;
    IST_TRY_ASSIGN(auto sub, c.sub(len - 4u, "SA proposal"));
    IST_TRY_ASSIGN(auto p, parse_proposal(sub));
    sa.proposals.push_back(std::move(p));
  }
  if (sa.proposals.empty()) return c.fail("no proposals");
  if (!last_seen) return c.fail("last proposal not marked last");
  return sa;
}

Result<TrafficSelector> parse_ts(Cursor& c) {
  TrafficSelector ts;
  size_t at = c.offset();
  IST_TRY_ASSIGN(ts.type, c.u8("TS type"));
  IST_TRY_ASSIGN(ts.ip_protocol, c.u8("IP protocol"));
  IST_TRY_ASSIGN(uint16_t len, c.u16("selector length"));
  size_t addr = ts.type == ts_type::ipv4_addr_range ? 4 : ts.type == ts_type::ipv6_addr_range ? 16 : 0;
  if (addr == 0) return c.fail_at(at, "unknown TS type " + std::to_string(ts.type));
  if (len != 8 + 2 * addr)
    return c.fail_at(at, "selector length " + std::to_string(len) + " != " + std::to_string(8 + 2 * addr));
  IST_TRY_ASSIGN(ts.start_port, c.u16("start port"));
  IST_TRY_ASSIGN(ts.end_port, c.u16("end port"));
  IST_TRY_ASSIGN(ts.start_address, c.bytes(addr, "start address"));
  IST_TRY_ASSIGN(ts.end_address, c.bytes(addr, "end address"));
  return ts;
}

Result<PayloadBody> parse_body(PayloadType type, Cursor& c) {
  switch (type) {
    case PayloadType::sa: {
      IST_TRY_ASSIGN(auto sa, parse_sa(c));
      return PayloadBody(std::move(sa));
    }
    case PayloadType::ke: {
      KePayload ke;
      IST_TRY_ASSIGN(ke.group, c.u16("DH group"));
      IST_TRY(c.u16("reserved"));
      ke.data = c.rest();
      if (ke.data.empty()) return c.fail("empty key exchange data");
      return PayloadBody(std::move(ke));
    }
    case PayloadType::nonce: {
      size_t at = c.offset();
      NoncePayload n{c.rest()};
      // RFC 7296 3.9: between 16 and 256 octets.
      if (n.nonce.size() < 16 || n.nonce.size() > 256)
        return c.fail_at(at, "nonce of " + std::to_string(n.nonce.size()) + " bytes (16..256 allowed)");
      return PayloadBody(std::move(n));
    }
    case PayloadType::notify: {
      NotifyPayload n;
      IST_TRY_ASSIGN(uint8_t protocol, c.u8("protocol id"));
      if (protocol > 3) return c.fail("unknown protocol id " + std::to_string(protocol));
      n.protocol = static_cast<ProtocolId>(protocol);
      IST_TRY_ASSIGN(uint8_t spi_size, c.u8("SPI size"));
      IST_TRY_ASSIGN(n.type, c.u16("notify type"));
      IST_TRY_ASSIGN(n.spi, c.bytes(spi_size, "SPI"));
      n.data = c.rest();
      return PayloadBody(std::move(n));
    }
    case PayloadType::idi:
    case PayloadType::idr: {
      IdPayload id;
      IST_TRY_ASSIGN(id.id_type, c.u8("ID type"));
      IST_TRY(c.bytes(3, "reserved"));
      id.data = c.rest();
      return PayloadBody(std::move(id));
    }
    case PayloadType::auth: {
      AuthPayload a;
      IST_TRY_ASSIGN(a.method, c.u8("auth method"));
      IST_TRY(c.bytes(3, "reserved"));
      a.data = c.rest();
      return PayloadBody(std::move(a));
    }
    case PayloadType::tsi:
    case PayloadType::tsr: {
      TsPayload ts;
      IST_TRY_ASSIGN(uint8_t count, c.u8("TS count"));
      IST_TRY(c.bytes(3, "reserved"));
      if (count == 0) return c.fail("no traffic selectors");
      for (uint8_t i = 0; i < count; ++i) {
        IST_TRY_ASSIGN(auto sel, parse_ts(c));
        ts.selectors.push_back(std::move(sel));
      }
      IST_TRY(c.expect_done());
      return PayloadBody(std::move(ts));
    }
    case PayloadType::del: {
      DeletePayload d;
      IST_TRY_ASSIGN(uint8_t protocol, c.u8("protocol id"));
      if (protocol < 1 || protocol > 3) return c.fail("unknown protocol id " + std::to_string(protocol));
      d.protocol = static_cast<ProtocolId>(protocol);
      IST_TRY_ASSIGN(d.spi_size, c.u8("SPI size"));
      IST_TRY_ASSIGN(uint16_t count, c.u16("SPI count"));
      if (d.protocol == ProtocolId::ike && (d.spi_size != 0 || count != 0))
        return c.fail("IKE SA delete carries SPIs");
      if (d.spi_size == 0 && count != 0) return c.fail("SPIs of size 0");
      for (uint16_t i = 0; i < count; ++i) {
        IST_TRY_ASSIGN(auto spi, c.bytes(d.spi_size, "SPI"));
        d.spis.push_back(std::move(spi));
      }
      IST_TRY(c.expect_done());
      return PayloadBody(std::move(d));
    }
    case PayloadType::cp: {
      CpPayload cp;
      IST_TRY_ASSIGN(cp.cfg_type, c.u8("CFG type"));
      IST_TRY(c.bytes(3, "reserved"));
      while (!c.done()) {
        CpAttribute a;
        IST_TRY_ASSIGN(uint16_t attr_type, c.u16("attribute type"));
        a.type = attr_type & 0x7fff;
        IST_TRY_ASSIGN(uint16_t len, c.u16("attribute length"));
        IST_TRY_ASSIGN(a.value, c.bytes(len, "attribute value"));
        cp.attributes.push_back(std::move(a));
      }
      return PayloadBody(std::move(cp));
    }
    default:
      return PayloadBody(OpaquePayload{c.rest()});
  }
}

bool known_type(PayloadType t) {
  auto v = static_cast<uint8_t>(t);
  return v >= 33 && v <= 48;
}

}  // namespace

Result<std::vector<Payload>> parse_payload_chain(PayloadType first, ByteView data, size_t base_offset) {
  std::vector<Payload> out;
  Cursor c(data, base_offset, "payload chain");
  PayloadType next = first;
  while (next != PayloadType::none) {
    size_t at = c.offset();
    std::string name = payload_name(next) + " payload";
    Cursor head(data.subspan(at - base_offset), at, name);
    if (c.remaining() < generic_header_size)
      return head.fail("truncated generic header (need 4, have " + std::to_string(c.remaining()) + ")");
    IST_TRY_ASSIGN(uint8_t following, c.u8("next payload"));
    IST_TRY_ASSIGN(uint8_t crit, c.u8("flags"));
    IST_TRY_ASSIGN(uint16_t len, c.u16("payload length"));
    if (len < generic_header_size) return head.fail("payload length " + std::to_string(len) + " < 4");
    if (len - generic_header_size > c.remaining())
      return head.fail("payload length " + std::to_string(len) + " exceeds the " +
                       std::to_string(c.remaining() + generic_header_size) + " bytes left");
    Payload p;
    p.type = next;
    p.critical = crit & 0x80;
    if (crit & 0x7f) return head.fail("reserved flag bits set");
    IST_TRY_ASSIGN(auto body_cursor, c.sub(len - generic_header_size, name));
    if (next == PayloadType::sk) {
      // SK is always last; its next-payload field names the first encrypted payload.
      p.body = SkPayload{static_cast<PayloadType>(following), body_cursor.rest()};
      out.push_back(std::move(p));
      if (!c.done()) return c.fail("data after the SK payload");
      return out;
    }
    if (!known_type(next) && p.critical)
      return head.fail("unsupported critical payload");
    IST_TRY_ASSIGN(p.body, parse_body(next, body_cursor));
    if (!body_cursor.done()) return body_cursor.fail("trailing bytes in payload");
    out.push_back(std::move(p));
    next = static_cast<PayloadType>(following);
  }
  IST_TRY(c.expect_done());
  return out;
}

Result<Message> parse_message(ByteView datagram) {
  Cursor c(datagram, 0, "IKE header");
  Message m;
  if (datagram.size() < header_size)
    return c.fail("datagram of " + std::to_string(datagram.size()) + " bytes is shorter than the 28-byte header");
  IST_TRY_ASSIGN(m.header.spi_i, c.u64("initiator SPI"));
  IST_TRY_ASSIGN(m.header.spi_r, c.u64("responder SPI"));
  IST_TRY_ASSIGN(uint8_t next, c.u8("next payload"));
  m.header.next_payload = static_cast<PayloadType>(next);
  IST_TRY_ASSIGN(m.header.version, c.u8("version"));
  if (m.header.version >> 4 != 2)
    return c.fail_at(17, "major version " + std::to_string(m.header.version >> 4) + " (need 2)");
  IST_TRY_ASSIGN(uint8_t exchange, c.u8("exchange type"));
  if (exchange < 34 || exchange > 37) return c.fail_at(18, "unknown exchange type " + std::to_string(exchange));
  m.header.exchange = static_cast<ExchangeType>(exchange);
  IST_TRY_ASSIGN(m.header.flags, c.u8("flags"));
  if (m.header.flags & ~(flags::initiator | flags::version | flags::response))
    return c.fail_at(19, "reserved flag bits set");
  IST_TRY_ASSIGN(m.header.message_id, c.u32("message id"));
  IST_TRY_ASSIGN(m.header.length, c.u32("length"));
  if (m.header.length != datagram.size())
    return c.fail_at(24, "length field " + std::to_string(m.header.length) + " != datagram size " +
                             std::to_string(datagram.size()));
  IST_TRY_ASSIGN(m.payloads, parse_payload_chain(m.header.next_payload, datagram.subspan(header_size), header_size));
  return m;
}

// ---------------------------------------------------------------------------------------
// Serializing

namespace {

void put_body(Bytes& out, const PayloadBody& body) {
  std::visit(
      [&out](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, SaPayload>) {
          for (size_t i = 0; i < b.proposals.size(); ++i) {
            const auto& p = b.proposals[i];
            size_t start = out.size();
            put_u8(out, i + 1 == b.proposals.size() ? 0 : 2);
            put_u8(out, 0);
            put_u16(out, 0);
            put_u8(out, p.number);
            put_u8(out, static_cast<uint8_t>(p.protocol));
            put_u8(out, static_cast<uint8_t>(p.spi.size()));
            put_u8(out, static_cast<uint8_t>(p.transforms.size()));
            put_bytes(out, p.spi);
            for (size_t j = 0; j < p.transforms.size(); ++j) {
              const auto& t = p.transforms[j];
              put_u8(out, j + 1 == p.transforms.size() ? 0 : 3);
              put_u8(out, 0);
              put_u16(out, t.key_length ? 12 : 8);
              put_u8(out, static_cast<uint8_t>(t.type));
              put_u8(out, 0);
              put_u16(out, t.id);
              if (t.key_length) {
                put_u16(out, attr_format_tv | attr_key_length);
                put_u16(out, *t.key_length);
              }
            }
            patch_u16(out, start + 2, static_cast<uint16_t>(out.size() - start));
          }
        } else if constexpr (std::is_same_v<T, KePayload>) {
          put_u16(out, b.group);
          put_u16(out, 0);
          put_bytes(out, b.data);
        } else if constexpr (std::is_same_v<T, NoncePayload>) {
          put_bytes(out, b.nonce);
        } else if constexpr (std::is_same_v<T, NotifyPayload>) {
          put_u8(out, static_cast<uint8_t>(b.protocol));
          put_u8(out, static_cast<uint8_t>(b.spi.size()));
          put_u16(out, b.type);
          put_bytes(out, b.spi);
          put_bytes(out, b.data);
        } else if constexpr (std::is_same_v<T, IdPayload>) {
          put_u32(out, static_cast<uint32_t>(b.id_type) << 24);
          put_bytes(out, b.data);
        } else if constexpr (std::is_same_v<T, AuthPayload>) {
          put_u32(out, static_cast<uint32_t>(b.method) << 24);
          put_bytes(out, b.data);
        } else if constexpr (std::is_same_v<T, TsPayload>) {
          put_u32(out, static_cast<uint32_t>(b.selectors.size()) << 24);
          for (const auto& ts : b.selectors) {
            put_u8(out, ts.type);
            put_u8(out, ts.ip_protocol);
            put_u16(out, static_cast<uint16_t>(8 + ts.start_address.size() + ts.end_address.size()));
            put_u16(out, ts.start_port);
            put_u16(out, ts.end_port);
            put_bytes(out, ts.start_address);
            put_bytes(out, ts.end_address);
          }
        } else if constexpr (std::is_same_v<T, DeletePayload>) {
          put_u8(out, static_cast<uint8_t>(b.protocol));
          put_u8(out, b.spi_size);
          put_u16(out, static_cast<uint16_t>(b.spis.size()));
          for (const auto& s : b.spis) put_bytes(out, s);
        } else if constexpr (std::is_same_v<T, SkPayload>) {
          put_bytes(out, b.body);
        } else if constexpr (std::is_same_v<T, CpPayload>) {
          put_u32(out, static_cast<uint32_t>(b.cfg_type) << 24);
          for (const auto& a : b.attributes) {
            put_u16(out, a.type);
            put_u16(out, static_cast<uint16_t>(a.value.size()));
            put_bytes(out, a.value);
          }
        } else {
          put_bytes(out, b.body);
        }
      },
      body);
}

void put_chain(Bytes& out, const std::vector<Payload>& payloads) {
  for (size_t i = 0; i < payloads.size(); ++i) {
    const auto& p = payloads[i];
    PayloadType next = PayloadType::none;
    if (auto* sk = std::get_if<SkPayload>(&p.body))
      next = sk->first_inner;
    else if (i + 1 < payloads.size())
      next = payloads[i + 1].type;
    size_t start = out.size();
    put_u8(out, static_cast<uint8_t>(next));
    put_u8(out, p.critical ? 0x80 : 0);
    put_u16(out, 0);
    put_body(out, p.body);
    patch_u16(out, start + 2, static_cast<uint16_t>(out.size() - start));
  }
}

}  // namespace

Bytes serialize_payload_chain(const std::vector<Payload>& payloads) {
  Bytes out;
  put_chain(out, payloads);
  return out;
}

Bytes serialize_message(const Message& m) {
  Bytes out;
  out.reserve(256);
  put_u64(out, m.header.spi_i);
  put_u64(out, m.header.spi_r);
  put_u8(out, static_cast<uint8_t>(m.payloads.empty() ? PayloadType::none : m.payloads.front().type));
  put_u8(out, m.header.version);
  put_u8(out, static_cast<uint8_t>(m.header.exchange));
  put_u8(out, m.header.flags);
  put_u32(out, m.header.message_id);
  put_u32(out, 0);
  put_chain(out, m.payloads);
  patch_u32(out, 24, static_cast<uint32_t>(out.size()));
  return out;
}

}  // namespace ist::native
