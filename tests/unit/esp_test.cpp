// ESP in userspace (harness/ike/esp.hpp, esp_inner.hpp).
// Known-answer packets come from tests/unit/esp_vectors.py, which builds them from the RFC
// text with python3-cryptography, independently of this code. HMAC-SHA-256-128 is checked
// against RFC 4868 2.7.2.1 (AUTH256-1) through the CBC suite's ICV.
#include <gtest/gtest.h>

#include <vector>

#include "ike/crypto.hpp"
#include "ike/esp.hpp"
#include "ike/esp_inner.hpp"

namespace ist::native {
namespace {

const SkSuite kGcm128{transform_id::encr_aes_gcm_16, 128, transform_id::integ_none};
const SkSuite kCbc128{transform_id::encr_aes_cbc, 128, transform_id::integ_hmac_sha2_256_128};

Bytes range_bytes(uint8_t from, uint8_t to) {
  Bytes b;
  for (unsigned v = from; v < to; ++v) b.push_back(static_cast<uint8_t>(v));
  return b;
}

EspKeys gcm_keys() { return {kGcm128, from_hex("feffe9928665731c6d6a8f9467308308cafebabe"), {}}; }
EspKeys cbc_keys() { return {kCbc128, from_hex("000102030405060708090a0b0c0d0e0f"), range_bytes(0x20, 0x40)}; }

const Bytes kInner = from_hex("4500001c000140004011b57bc6138001c612ff01c35104d2000815e1");

struct KnownPacket {
  const char* name;
  EspKeys keys;
  uint32_t spi, seq;
  const char* iv;
  Bytes inner;
  uint8_t next_header;
  const char* packet;
};

std::vector<KnownPacket> known_packets() {
  return {
      {"gcm", gcm_keys(), 0x0000a5f8, 10, "facedbaddecaf888", kInner, esp_next_ipv4,
       "0000a5f80000000afacedbaddecaf888deb22cfbd9f232c1ae3a9d09ed367207a31f777dfa6757e81b855bffa29f29586605b94d654cb2ab"
       "f0b95ad25c76af80"},
      {"gcm dummy packet", gcm_keys(), 0x12345678, 1, "facedbaddecaf888", {}, esp_next_none,
       "1234567800000001facedbaddecaf8889ab02edc09d59b3c1dee03f6f028af3c3426e4eb"},
      {"cbc", cbc_keys(), 0x00004321, 1, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", kInner, esp_next_ipv4,
       "0000432100000001f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff4287b351323e4efc7b2d7fa5aa9fb9e11f3c3ada41ca1c3e0af5aad9eef200d4"
       "f1b57fa0470705d516b87d589db9bd6b"},
      {"cbc, pad to one block", cbc_keys(), 0x00004321, 2, "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
       Bytes(kInner.begin(), kInner.begin() + 14), esp_next_ipv4,
       "0000432100000002f0f1f2f3f4f5f6f7f8f9fafbfcfdfeffb8071e810e2d770adf441f66858669eedccff7ca034a479203ae708d01c1ceb8"},
  };
}

TEST(Esp, EncapsulationMatchesIndependentPackets) {
  for (const auto& k : known_packets()) {
    auto p = esp_encapsulate(k.keys, k.spi, k.seq, k.next_header, k.inner, from_hex(k.iv));
    ASSERT_TRUE(p) << k.name << ": " << p.error().message;
    EXPECT_EQ(to_hex(*p), k.packet) << k.name;
  }
}

TEST(Esp, DecapsulationOfIndependentPackets) {
  for (const auto& k : known_packets()) {
    ReplayWindow w;
    auto r = esp_decapsulate(k.keys, k.spi, w, from_hex(k.packet));
    ASSERT_EQ(r.verdict, EspVerdict::ok) << k.name << ": " << verdict_name(r.verdict);
    EXPECT_EQ(r.inner, k.inner) << k.name;
    EXPECT_EQ(r.next_header, k.next_header) << k.name;
    EXPECT_EQ(r.seq, k.seq) << k.name;
    EXPECT_EQ(w.top(), k.seq) << k.name;
  }
}

TEST(Esp, HmacSha256_128IsTheRfc4868Truncation) {
  // AUTH256-1: key 0x0b x 32, "Hi There" -> 198a607eb44bfbc69903a0f1cf2bbdc5. The CBC ICV is
  // that function over SPI | seq | IV | ciphertext, so check it through a packet's tail.
  Bytes key(32, 0x0b);
  Bytes full = prf(key, to_bytes("Hi There"));
  EXPECT_EQ(to_hex(ByteView(full).first(16)), "198a607eb44bfbc69903a0f1cf2bbdc5");
  auto k = cbc_keys();
  auto p = esp_encapsulate(k, 7, 1, esp_next_ipv4, kInner);
  ASSERT_TRUE(p);
  Bytes icv = prf(k.integ, ByteView(*p).first(p->size() - 16));
  EXPECT_EQ(to_hex(ByteView(icv).first(16)), to_hex(ByteView(*p).last(16)));
}

TEST(Esp, RoundTripsEverySuiteAndLength) {
  const SkSuite suites[] = {
      {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none},
      {transform_id::encr_aes_gcm_16, 192, transform_id::integ_none},
      {transform_id::encr_aes_gcm_16, 256, transform_id::integ_none},
      {transform_id::encr_aes_cbc, 128, transform_id::integ_hmac_sha2_256_128},
      {transform_id::encr_aes_cbc, 256, transform_id::integ_hmac_sha2_256_128},
  };
  for (const auto& s : suites) {
    EspKeys k{s, random_bytes(s.encr_key_size()).value(), random_bytes(s.integ_key_size()).value()};
    ReplayWindow w;
    for (uint32_t len = 0; len <= 70; ++len) {
      Bytes inner = random_bytes(len).value();
      uint32_t seq = len + 1;
      auto p = esp_encapsulate(k, 0xc0ffee01, seq, esp_next_ipv4, inner);
      ASSERT_TRUE(p);
      size_t block = s.aead() ? 4 : 16;
      EXPECT_EQ((p->size() - 8 - s.iv_size() - 16) % block, 0u) << len;
      auto r = esp_decapsulate(k, 0xc0ffee01, w, *p);
      ASSERT_EQ(r.verdict, EspVerdict::ok) << s.key_bits << " len " << len << ": " << verdict_name(r.verdict);
      EXPECT_EQ(r.inner, inner);
    }
  }
}

TEST(Esp, RejectsDamagedPackets) {
  struct Case {
    const char* name;
    EspKeys keys;
    std::function<Bytes(Bytes)> damage;
    uint32_t expect_spi;
    EspVerdict verdict;
  };
  auto flip = [](size_t at_from_end) {
    return [at_from_end](Bytes p) {
      p[p.size() - 1 - at_from_end] ^= 0x01;
      return p;
    };
  };
  auto flip_at = [](size_t at) {
    return [at](Bytes p) {
      p[at] ^= 0x80;
      return p;
    };
  };
  const Case cases[] = {
      {"gcm: intact", gcm_keys(), [](Bytes p) { return p; }, 0xabc, EspVerdict::ok},
      {"gcm: tag", gcm_keys(), flip(0), 0xabc, EspVerdict::integrity},
      {"gcm: ciphertext", gcm_keys(), flip(20), 0xabc, EspVerdict::integrity},
      {"gcm: IV", gcm_keys(), flip_at(9), 0xabc, EspVerdict::integrity},
      {"gcm: seq (AAD)", gcm_keys(), flip_at(5), 0xabc, EspVerdict::integrity},
      {"gcm: SPI", gcm_keys(), flip_at(3), 0xabc, EspVerdict::wrong_spi},
      {"gcm: truncated by one", gcm_keys(), [](Bytes p) { p.pop_back(); return p; }, 0xabc, EspVerdict::malformed},
      {"gcm: header only", gcm_keys(), [](Bytes p) { p.resize(8); return p; }, 0xabc, EspVerdict::malformed},
      {"gcm: too short for a header", gcm_keys(), [](Bytes p) { p.resize(7); return p; }, 0xabc, EspVerdict::malformed},
      {"gcm: SPI zero", gcm_keys(), [](Bytes p) { p[0] = p[1] = p[2] = p[3] = 0; return p; }, 0, EspVerdict::malformed},
      {"gcm: seq zero", gcm_keys(), [](Bytes p) { p[4] = p[5] = p[6] = p[7] = 0; return p; }, 0xabc, EspVerdict::replay},
      {"cbc: intact", cbc_keys(), [](Bytes p) { return p; }, 0xabc, EspVerdict::ok},
      {"cbc: ICV", cbc_keys(), flip(3), 0xabc, EspVerdict::integrity},
      {"cbc: ciphertext", cbc_keys(), flip(17), 0xabc, EspVerdict::integrity},
      {"cbc: IV", cbc_keys(), flip_at(8), 0xabc, EspVerdict::integrity},
      {"cbc: not whole blocks", cbc_keys(), [](Bytes p) { p.insert(p.begin() + 30, 0); return p; }, 0xabc,
       EspVerdict::malformed},
  };
  for (const auto& c : cases) {
    auto p = esp_encapsulate(c.keys, 0xabc, 5, esp_next_ipv4, kInner);
    ASSERT_TRUE(p);
    ReplayWindow w;
    auto r = esp_decapsulate(c.keys, c.expect_spi, w, c.damage(*p));
    EXPECT_EQ(verdict_name(r.verdict), verdict_name(c.verdict)) << c.name;
    // Only an accepted packet moves the window.
    EXPECT_EQ(w.top(), c.verdict == EspVerdict::ok ? 5u : 0u) << c.name;
  }
}

TEST(Esp, AuthenticatedButBadPaddingIsPaddingAndMovesTheWindow) {
  auto k = gcm_keys();
  // inner | padding 9 9 (should be 1 2) | pad length 2 | next header, sealed by hand.
  Bytes plain = concat({kInner, Bytes{9, 9, 2, esp_next_ipv4}});
  Bytes head = from_hex("00000abc00000003");
  Bytes iv = from_hex("0102030405060708");
  Bytes nonce = concat({ByteView(k.encr).last(4), iv});
  auto sealed = aes_gcm_encrypt(ByteView(k.encr).first(16), nonce, head, plain);
  ASSERT_TRUE(sealed);
  ReplayWindow w;
  auto r = esp_decapsulate(k, 0xabc, w, concat({head, iv, *sealed}));
  EXPECT_EQ(r.verdict, EspVerdict::padding);
  EXPECT_EQ(w.top(), 3u);
}

TEST(Esp, ReplayedPacketIsRefusedTheSecondTime) {
  auto k = gcm_keys();
  ReplayWindow w;
  auto p1 = esp_encapsulate(k, 0x1001, 1, esp_next_ipv4, kInner).value();
  auto p2 = esp_encapsulate(k, 0x1001, 2, esp_next_ipv4, kInner).value();
  EXPECT_EQ(esp_decapsulate(k, 0x1001, w, p2).verdict, EspVerdict::ok);
  EXPECT_EQ(esp_decapsulate(k, 0x1001, w, p1).verdict, EspVerdict::ok);  // late but in the window
  EXPECT_EQ(esp_decapsulate(k, 0x1001, w, p1).verdict, EspVerdict::replay);
  EXPECT_EQ(esp_decapsulate(k, 0x1001, w, p2).verdict, EspVerdict::replay);
}

// Replay window: each step offers a sequence number; `accepted` is whether check() passes
// (then it is accepted, as an authenticated packet would be).
struct WindowStep {
  uint32_t seq;
  bool accepted;
};
struct WindowCase {
  const char* name;
  uint32_t size;
  std::vector<WindowStep> steps;
  uint32_t top;
};

TEST(Esp, ReplayWindowTable) {
  const WindowCase cases[] = {
      {"in order", 32, {{1, true}, {2, true}, {3, true}}, 3},
      {"zero is never valid", 32, {{0, false}, {1, true}, {0, false}}, 1},
      {"duplicate of the top", 32, {{5, true}, {5, false}}, 5},
      {"reordered inside the window", 32, {{10, true}, {8, true}, {9, true}, {8, false}, {7, true}}, 10},
      {"edge of a 32 window", 32, {{40, true}, {9, true}, {8, false}}, 40},
      {"left of the window after a jump", 32, {{1, true}, {100, true}, {68, false}, {69, true}, {69, false}}, 100},
      {"jump further than the window clears it", 64, {{3, true}, {200, true}, {137, true}, {136, false}, {3, false}}, 200},
      {"shift across 64-bit words", 128, {{1, true}, {2, true}, {70, true}, {2, false}, {1, false}, {6, true}}, 70},
      {"bits survive a multi-word shift", 1024, {{500, true}, {499, true}, {1200, true}, {500, false}, {499, false},
                                                  {498, true}, {176, false}, {177, true}}, 1200},
      {"window of one", 1, {{1, true}, {3, true}, {2, false}, {3, false}, {4, true}}, 4},
      {"top of the 32-bit space", 32, {{0xfffffffe, true}, {0xffffffff, true}, {0xfffffffe, false}}, 0xffffffff},
  };
  for (const auto& c : cases) {
    ReplayWindow w(c.size);
    for (size_t i = 0; i < c.steps.size(); ++i) {
      const auto& s = c.steps[i];
      bool ok = w.check(s.seq);
      EXPECT_EQ(ok, s.accepted) << c.name << ", step " << i << " (seq " << s.seq << ")";
      if (ok) w.accept(s.seq);
    }
    EXPECT_EQ(w.top(), c.top) << c.name;
  }
}

TEST(EspInner, BuildsTheIndependentIpv4UdpPacket) {
  auto p = build_ipv4_udp({198, 19, 128, 1}, {198, 18, 255, 1}, 50000, 7, to_bytes("ping!"), 1);
  EXPECT_EQ(to_hex(p), "450000210001400040112fa2c6138001c612ff01c3500007000d318270696e6721");
  auto r = parse_ipv4_udp(p);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->src, (std::array<uint8_t, 4>{198, 19, 128, 1}));
  EXPECT_EQ(r->dst, (std::array<uint8_t, 4>{198, 18, 255, 1}));
  EXPECT_EQ(r->src_port, 50000);
  EXPECT_EQ(r->dst_port, 7);
  EXPECT_EQ(Bytes(r->payload.begin(), r->payload.end()), to_bytes("ping!"));
}

TEST(EspInner, RefusesWhatIsNotAnIntactIpv4UdpPacket) {
  const Bytes good = build_ipv4_udp({198, 19, 128, 1}, {198, 18, 255, 1}, 1, 2, to_bytes("payload"), 9);
  struct Case {
    const char* name;
    std::function<void(Bytes&)> damage;
  };
  const Case cases[] = {
      {"IPv6 version", [](Bytes& p) { p[0] = 0x65; }},
      {"header checksum", [](Bytes& p) { p[11] ^= 1; }},
      {"UDP checksum", [](Bytes& p) { p.back() ^= 1; }},
      {"not UDP", [](Bytes& p) { p[9] = 6; }},
      {"truncated", [](Bytes& p) { p.resize(p.size() - 1); }},
      {"fragment", [](Bytes& p) { p[6] = 0x20; }},
      {"too short", [](Bytes& p) { p.resize(27); }},
  };
  ASSERT_TRUE(parse_ipv4_udp(good));
  for (const auto& c : cases) {
    Bytes p = good;
    c.damage(p);
    EXPECT_FALSE(parse_ipv4_udp(p)) << c.name;
  }
}

}  // namespace
}  // namespace ist::native
