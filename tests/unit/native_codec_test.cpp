// IKEv2 codec: byte-exact messages built by hand from the RFC 7296 section 3 layouts, round
// trips, and a table of malformed messages whose errors must name the payload and offset.
#include <gtest/gtest.h>

#include <string>

#include "ike/ike_message.hpp"

namespace ist::native {
namespace {

std::string rep(const char* byte_hex, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += byte_hex;
  return s;
}

// IKE_SA_INIT request: SA(AES-GCM-16/128, PRF-HMAC-SHA2-256, x25519), KE, Ni,
// N(NAT_DETECTION_SOURCE_IP). Every length computed by hand in the comments.
const std::string init_request_hex =
    // header: SPIi, SPIr, next=SA(33), version 2.0, IKE_SA_INIT(34), flags I, msgid 0, len 156
    "0102030405060708" "0000000000000000" "21" "20" "22" "08" "00000000" "0000009c"
    // SA: next=KE(34), len 40; proposal last, len 36, #1, IKE, spi size 0, 3 transforms
    "22000028" "00000024" "01010003"
    "0300000c" "01000014" "800e0080"  // ENCR AES-GCM-16, key length 128
    "03000008" "02000005"             // PRF HMAC-SHA2-256
    "00000008" "0400001f"             // DH 31 (x25519), last
    // KE: next=Nonce(40), len 40, group 31, reserved, 32 bytes
    "28000028" "001f0000" + rep("11", 32) +
    // Nonce: next=Notify(41), len 20, 16 bytes
    "29000014" + rep("22", 16) +
    // Notify: next=none, len 28, protocol 0, spi size 0, type 16388, 20 bytes of hash
    "0000001c" "00004004" + rep("33", 20);

Message init_request_value() {
  Message m;
  m.header = Header{.spi_i = 0x0102030405060708ULL, .spi_r = 0, .next_payload = PayloadType::sa,
                    .version = 0x20, .exchange = ExchangeType::ike_sa_init, .flags = flags::initiator,
                    .message_id = 0, .length = 156};
  Proposal p{.number = 1, .protocol = ProtocolId::ike, .spi = {}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_gcm_16, 128},
      {TransformType::prf, transform_id::prf_hmac_sha2_256, std::nullopt},
      {TransformType::dh, transform_id::dh_x25519, std::nullopt}}};
  m.payloads.push_back(make_payload(PayloadType::sa, SaPayload{{p}}));
  m.payloads.push_back(make_payload(PayloadType::ke, KePayload{31, Bytes(32, 0x11)}));
  m.payloads.push_back(make_payload(PayloadType::nonce, NoncePayload{Bytes(16, 0x22)}));
  m.payloads.push_back(make_payload(PayloadType::notify,
      NotifyPayload{ProtocolId::none, {}, notify_type::nat_detection_source_ip, Bytes(20, 0x33)}));
  return m;
}

// IKE_AUTH response carrying only an SK payload (first inner payload IDr = 36).
const std::string auth_response_hex =
    "0102030405060708" "a1a2a3a4a5a6a7a8" "2e" "20" "23" "20" "00000001" "00000038"
    "2400001c" + rep("aa", 24);

// A plaintext chain as found inside SK: IDi, AUTH, TSi, Delete(ESP), CP.
const std::string inner_chain_hex =
    // IDi fqdn "peer1": next=AUTH(39), len 4+4+5=13
    "2700000d" "02000000" "7065657231"
    // AUTH shared key MIC, 32 bytes: next=TSi(44), len 40
    "2c000028" "02000000" + rep("44", 32) +
    // TSi: one IPv4 range, any protocol, ports 0-65535, 198.19.128.1-198.19.128.1: next=D(42),
    // len 4+4+16=24
    "2a000018" "01000000" "07000010" "0000ffff" "c6138001" "c6138001"
    // Delete ESP, spi size 4, two SPIs: next=CP(47), len 4+4+8=16
    "2f000010" "03040002" "c0000001" "c0000002"
    // CP request with INTERNAL_IP4_ADDRESS (1), empty value: next=none, len 4+4+4=12
    "0000000c" "01000000" "00010000";

TEST(NativeCodec, ParsesHandBuiltInitRequest) {
  auto bytes = from_hex(init_request_hex);
  ASSERT_EQ(bytes.size(), 156u);
  auto m = parse_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(*m, init_request_value());
}

TEST(NativeCodec, SerializesInitRequestByteExact) {
  EXPECT_EQ(to_hex(serialize_message(init_request_value())), init_request_hex);
}

TEST(NativeCodec, SkPayloadIsOpaqueAndLast) {
  auto bytes = from_hex(auth_response_hex);
  auto m = parse_message(bytes);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  ASSERT_EQ(m->payloads.size(), 1u);
  auto* sk = m->find<SkPayload>(PayloadType::sk);
  ASSERT_NE(sk, nullptr);
  EXPECT_EQ(sk->first_inner, PayloadType::idr);
  EXPECT_EQ(sk->body, Bytes(24, 0xaa));
  EXPECT_TRUE(m->header.is_response());
  EXPECT_EQ(m->header.spi_r, 0xa1a2a3a4a5a6a7a8ULL);
  EXPECT_EQ(to_hex(serialize_message(*m)), auth_response_hex);
}

TEST(NativeCodec, InnerChainParsesAndRoundTrips) {
  auto bytes = from_hex(inner_chain_hex);
  auto chain = parse_payload_chain(PayloadType::idi, bytes);
  ASSERT_TRUE(chain.ok()) << chain.error().describe();
  ASSERT_EQ(chain->size(), 5u);
  auto& id = std::get<IdPayload>((*chain)[0].body);
  EXPECT_EQ(id.id_type, id_type::fqdn);
  EXPECT_EQ(id.data, to_bytes("peer1"));
  EXPECT_EQ(std::get<AuthPayload>((*chain)[1].body).data, Bytes(32, 0x44));
  auto& ts = std::get<TsPayload>((*chain)[2].body);
  ASSERT_EQ(ts.selectors.size(), 1u);
  EXPECT_EQ(ts.selectors[0].start_address, (Bytes{198, 19, 128, 1}));
  EXPECT_EQ(ts.selectors[0].end_port, 65535);
  auto& del = std::get<DeletePayload>((*chain)[3].body);
  EXPECT_EQ(del.protocol, ProtocolId::esp);
  EXPECT_EQ(del.spis.size(), 2u);
  auto& cp = std::get<CpPayload>((*chain)[4].body);
  ASSERT_EQ(cp.attributes.size(), 1u);
  EXPECT_EQ(cp.attributes[0].type, 1);
  EXPECT_EQ(to_hex(serialize_payload_chain(*chain)), inner_chain_hex);
}

TEST(NativeCodec, RoundTripsEveryPayloadKind) {
  Message m;
  m.header = Header{.spi_i = 7, .spi_r = 9, .exchange = ExchangeType::create_child_sa,
                    .flags = flags::initiator | flags::response, .message_id = 0x01020304};
  Proposal esp{.number = 2, .protocol = ProtocolId::esp, .spi = {1, 2, 3, 4}, .transforms = {
      {TransformType::encr, transform_id::encr_aes_cbc, 256},
      {TransformType::integ, transform_id::integ_hmac_sha2_256_128, std::nullopt},
      {TransformType::esn, transform_id::esn_none, std::nullopt}}};
  Proposal esp2 = esp;
  esp2.number = 3;
  m.payloads = {
      make_payload(PayloadType::notify, NotifyPayload{ProtocolId::esp, {9, 9, 9, 9}, notify_type::rekey_sa, {}}),
      make_payload(PayloadType::sa, SaPayload{{esp, esp2}}),
      make_payload(PayloadType::nonce, NoncePayload{Bytes(32, 5)}),
      make_payload(PayloadType::ke, KePayload{19, Bytes(64, 6)}),
      make_payload(PayloadType::tsi, TsPayload{{TrafficSelector{ts_type::ipv6_addr_range, 17, 500, 4500,
                                                                Bytes(16, 1), Bytes(16, 2)},
                                                TrafficSelector{.start_address = {198, 19, 128, 1},
                                                                .end_address = {198, 19, 128, 1}}}}),
      make_payload(PayloadType::tsr, TsPayload{{TrafficSelector{.start_address = {10, 0, 0, 0},
                                                                .end_address = {10, 0, 0, 255}}}}),
      make_payload(PayloadType::idr, IdPayload{id_type::ipv4_addr, {198, 18, 0, 1}}),
      make_payload(PayloadType::del, DeletePayload{ProtocolId::ike, 0, {}}),
      make_payload(PayloadType::vendor_id, OpaquePayload{to_bytes("vendor")}),
      make_payload(PayloadType::notify, NotifyPayload{ProtocolId::none, {}, notify_type::cookie, Bytes(20, 7)}),
  };
  m.payloads.back().critical = false;
  m.payloads.push_back(make_payload(PayloadType::sk, SkPayload{PayloadType::auth, Bytes(40, 8)}));
  auto bytes = serialize_message(m);
  auto back = parse_message(bytes);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  m.header.length = static_cast<uint32_t>(bytes.size());
  m.header.next_payload = PayloadType::notify;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(serialize_message(*back), bytes);
}

// Each case mutates the valid init request (hex) and names what the error must contain.
struct MalformedCase {
  const char* name;
  std::string hex;
  const char* expect;  // substring of the error message
};

std::string patched(size_t at, const std::string& new_hex) {
  std::string s = init_request_hex;
  s.replace(at * 2, new_hex.size(), new_hex);
  return s;
}

TEST(NativeCodec, MalformedMessagesNamePayloadAndOffset) {
  const MalformedCase cases[] = {
      {"short datagram", init_request_hex.substr(0, 27 * 2), "IKE header at byte 0: datagram of 27 bytes"},
      {"length field too big", patched(24, "0000009d"), "at byte 24: length field 157 != datagram size 156"},
      {"datagram longer than length", init_request_hex + "00", "length field 156 != datagram size 157"},
      {"major version 1", patched(17, "10"), "at byte 17: major version 1"},
      {"unknown exchange", patched(18, "21"), "at byte 18: unknown exchange type 33"},
      {"reserved header flag", patched(19, "09"), "at byte 19: reserved flag bits set"},
      {"SA length past the end", patched(30, "ffff"), "SA payload at byte 28: payload length 65535 exceeds"},
      {"SA length below header", patched(30, "0003"), "SA payload at byte 28: payload length 3 < 4"},
      {"proposal length past SA", patched(34, "0030"), "SA payload at byte 36: truncated SA proposal"},
      {"transform not marked last", patched(60, "03"), "SA proposal at byte 60: transform 3 of 3 has last-substructure 3"},
      {"transform length 4", patched(62, "0004"), "SA proposal at byte 60: transform length 4 < 8"},
      {"unknown transform attribute", patched(48, "800f"), "SA transform at byte 48: unsupported transform attribute 15"},
      {"unknown transform type", patched(56, "09"), "SA transform at byte 56: unknown transform type 9"},
      {"notify truncated", patched(130, "001d"), "Notify payload at byte 128: payload length 29 exceeds the 28"},
  };
  for (const auto& c : cases) {
    auto bytes = from_hex(c.hex);
    ASSERT_FALSE(bytes.empty()) << c.name;
    auto m = parse_message(bytes);
    ASSERT_FALSE(m.ok()) << c.name;
    EXPECT_NE(m.error().message.find(c.expect), std::string::npos)
        << c.name << ": got \"" << m.error().message << "\"";
  }
}

TEST(NativeCodec, NonceBelowSixteenBytesIsRejected) {
  // A 15-byte nonce: shrink the Nonce payload and the header length by one.
  std::string hex = "0102030405060708" "0000000000000000" "21" "20" "22" "08" "00000000" "0000009b" +
                    init_request_hex.substr(28 * 2, (108 - 28) * 2) + "29000013" + rep("22", 15) +
                    init_request_hex.substr(128 * 2);
  auto m = parse_message(from_hex(hex));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("Nonce payload at byte 112: nonce of 15 bytes"), std::string::npos)
      << m.error().message;
}

TEST(NativeCodec, UnknownPayloadsCriticalOrNot) {
  // Chain: unknown type 99 (non-critical) then nothing; then the same with the critical bit.
  auto plain = parse_payload_chain(static_cast<PayloadType>(99), from_hex("00000006abcd"), 28);
  ASSERT_TRUE(plain.ok()) << plain.error().describe();
  EXPECT_EQ(std::get<OpaquePayload>((*plain)[0].body).body, (Bytes{0xab, 0xcd}));
  auto critical = parse_payload_chain(static_cast<PayloadType>(99), from_hex("00800006abcd"), 28);
  ASSERT_FALSE(critical.ok());
  EXPECT_NE(critical.error().message.find("payload type 99 payload at byte 28: unsupported critical payload"),
            std::string::npos) << critical.error().message;
}

TEST(NativeCodec, DataAfterSkIsRejected) {
  auto m = parse_message(from_hex("0102030405060708" "a1a2a3a4a5a6a7a8" "2e" "20" "23" "20" "00000001"
                                  "00000024" "24000006" "aaaa" "0000"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("at byte 34: data after the SK payload"), std::string::npos)
      << m.error().message;
}

TEST(NativeCodec, TrafficSelectorLengthMustMatchType) {
  auto chain = parse_payload_chain(PayloadType::tsi,
                                   from_hex("00000018" "01000000" "07000011" "0000ffff" "c6138001" "c6138001"));
  ASSERT_FALSE(chain.ok());
  EXPECT_NE(chain.error().message.find("TSi payload at byte 8: selector length 17 != 16"), std::string::npos)
      << chain.error().message;
}

}  // namespace
}  // namespace ist::native
