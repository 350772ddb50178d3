// The raw prefix layer's packet building and parsing, without sockets: UDP checksums against
// packets the kernel built, IPv6 headers as RawPrefixIo sends them, and what the IPv6
// receive side takes or drops behind extension headers.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

#include "fleet/native/raw_prefix_io.hpp"

namespace ist::native {
namespace {

std::vector<uint8_t> from_hex(const std::string& hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) out.push_back(static_cast<uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

IpPort v6(std::initializer_list<uint8_t> tail, uint16_t port) {
  // 2001:2:0:2::<tail> (tail fills the last bytes)
  std::array<uint8_t, 16> a{0x20, 0x01, 0x00, 0x02, 0x00, 0x00, 0x00, 0x02};
  size_t at = 16 - tail.size();
  for (uint8_t b : tail) a[at++] = b;
  return IpPort::of(ByteView(a.data(), 16), port);
}

const IpPort kSut = [] {
  std::array<uint8_t, 16> a{0x20, 0x01, 0x00, 0x02};
  a[15] = 1;  // 2001:2::1
  return IpPort::of(ByteView(a.data(), 16), 4500);
}();

// Linux 6.x built this one in software (a corked UDP send, so no checksum offload) from
// [2001:2:0:2::7]:4500 to [2001:2::1]:4500, payload the non-ESP marker and "ikestorm ipv6",
// captured with an AF_PACKET socket; its flow label is the kernel's automatic one.
const char* kKernelPacket =
    "600789350019114020010002000000020000000000000007200100020000000000000000000000011194119400191fe9"
    "00000000696b6573746f726d2069707636";

TEST(RawPrefixPackets, Udp6ChecksumMatchesAKernelBuiltPacket) {
  auto p = from_hex(kKernelPacket);
  ASSERT_EQ(p.size(), 40u + 25u);
  const uint16_t on_wire = static_cast<uint16_t>(p[46] << 8 | p[47]);
  EXPECT_EQ(on_wire, 0x1fe9);
  p[46] = p[47] = 0;
  EXPECT_EQ(udp6_checksum(p.data() + 8, p.data() + 24, p.data() + 40, 25), on_wire);
}

TEST(RawPrefixPackets, Udp6ChecksumIsNeverZero) {
  // A datagram whose one's complement sum is 0xffff would checksum to 0, which IPv6 forbids
  // (RFC 8200 8.1): it goes out as 0xffff. Putting a datagram's checksum into one of its
  // payload words makes its sum 0xffff.
  std::array<uint8_t, 16> zero{};
  std::vector<uint8_t> udp{0, 0, 0, 0, 0, 10, 0, 0, 0, 0};
  uint16_t c = udp6_checksum(zero.data(), zero.data(), udp.data(), udp.size());
  udp[8] = static_cast<uint8_t>(c >> 8);
  udp[9] = static_cast<uint8_t>(c);
  EXPECT_EQ(udp6_checksum(zero.data(), zero.data(), udp.data(), udp.size()), 0xffff);
}

TEST(RawPrefixPackets, BuildsTheKernelsPacketSaveTheFlowLabel) {
  const std::string payload = std::string("\0\0\0\0", 4) + "ikestorm ipv6";
  std::vector<uint8_t> built;
  ASSERT_TRUE(build_udp_packet({v6({7}, 4500), kSut, ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())},
                               built));
  auto kernel = from_hex(kKernelPacket);
  kernel[1] = kernel[2] = kernel[3] = 0;  // we send flow label 0
  EXPECT_EQ(built, kernel);
}

TEST(RawPrefixPackets, BuildRefusesMixedFamiliesAndOversizedDatagrams) {
  std::vector<uint8_t> out;
  IpPort v4 = IpPort::of(Bytes{198, 19, 0, 1}, 500);
  EXPECT_FALSE(build_udp_packet({v4, kSut, ByteView()}, out));
  IpPort bad = v4;
  bad.len = 7;
  EXPECT_FALSE(build_udp_packet({bad, bad, ByteView()}, out));
  // IPv6's payload length excludes the 40-byte header: 65,527 bytes of UDP payload fit, 65,528 not.
  std::vector<uint8_t> big(65528);
  EXPECT_FALSE(build_udp_packet({v6({1}, 500), kSut, ByteView(big.data(), big.size())}, out));
  EXPECT_TRUE(build_udp_packet({v6({1}, 500), kSut, ByteView(big.data(), big.size() - 1)}, out));
  EXPECT_EQ(out.size(), 65535u + 40u);
  // IPv4 keeps its header inside the 65,535.
  EXPECT_FALSE(build_udp_packet({v4, IpPort::of(Bytes{198, 18, 0, 1}, 500), ByteView(big.data(), 65508)}, out));
  EXPECT_TRUE(build_udp_packet({v4, IpPort::of(Bytes{198, 18, 0, 1}, 500), ByteView(big.data(), 65507)}, out));
}

TEST(RawPrefixPackets, Ipv4BuildStillMatchesItsChecksums) {
  const std::string payload = "hi";
  std::vector<uint8_t> out;
  ASSERT_TRUE(build_udp_packet({IpPort::of(Bytes{198, 19, 0, 1}, 500), IpPort::of(Bytes{198, 18, 0, 1}, 500),
                                ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())},
                               out));
  ASSERT_EQ(out.size(), 30u);
  EXPECT_EQ(ipv4_header_checksum(out.data(), 20), 0);  // a header with its checksum sums to zero
  EXPECT_EQ(out[26] << 8 | out[27], 0x0761);           // as RawPrefixChecksums.MatchKnownHeaders
}

// An IPv6 packet from the SUT to peer 2001:2:0:2::5 with `ext` between the header and UDP
// (`first` the first next-header value).
std::vector<uint8_t> with_extensions(uint8_t first, const std::vector<uint8_t>& ext, const std::string& payload) {
  std::vector<uint8_t> udp_packet;
  IpPort src = kSut, dst = v6({5}, 500);
  src.port = 500;
  EXPECT_TRUE(build_udp_packet({src, dst, ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())},
                               udp_packet));
  std::vector<uint8_t> p(udp_packet.begin(), udp_packet.begin() + 40);
  p.insert(p.end(), ext.begin(), ext.end());
  p.insert(p.end(), udp_packet.begin() + 40, udp_packet.end());
  const size_t payload_len = p.size() - 40;
  p[4] = static_cast<uint8_t>(payload_len >> 8);
  p[5] = static_cast<uint8_t>(payload_len);
  p[6] = first;
  return p;
}

TEST(RawPrefixPackets, ParsesPlainUdpOverIpv6) {
  auto p = from_hex(kKernelPacket);
  auto d = parse_udp6_packet(p.data(), p.size());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->src, v6({7}, 4500));
  EXPECT_EQ(d->dst, kSut);
  EXPECT_EQ(d->src.str(), "[2001:2:0:2::7]:4500");
  ASSERT_EQ(d->payload.size(), 17u);
  EXPECT_EQ(std::string(d->payload.begin() + 4, d->payload.end()), "ikestorm ipv6");
  // Trailing bytes past the payload length (link padding) are not payload.
  p.push_back(0xee);
  d = parse_udp6_packet(p.data(), p.size());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->payload.size(), 17u);
}

TEST(RawPrefixPackets, SkipsOptionHeadersAndRoutingWithNoSegmentsLeft) {
  // Hop-by-hop (8 bytes: next dest-opts, PadN), destination options (16 bytes), routing
  // type 4 with segments left 0 (8 bytes), then UDP.
  const std::vector<uint8_t> hbh{IPPROTO_DSTOPTS, 0, 1, 4, 0, 0, 0, 0};
  const std::vector<uint8_t> dst{IPPROTO_ROUTING, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  const std::vector<uint8_t> rh{IPPROTO_UDP, 0, 4, 0, 0, 0, 0, 0};
  std::vector<uint8_t> ext = hbh;
  ext.insert(ext.end(), dst.begin(), dst.end());
  ext.insert(ext.end(), rh.begin(), rh.end());
  auto p = with_extensions(IPPROTO_HOPOPTS, ext, "answer");
  auto d = parse_udp6_packet(p.data(), p.size());
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->dst, v6({5}, 500));
  EXPECT_EQ(std::string(d->payload.begin(), d->payload.end()), "answer");
}

TEST(RawPrefixPackets, DropsWhatItCannotHonestlyDeliver) {
  struct Case {
    const char* what;
    std::vector<uint8_t> packet;
  } cases[] = {
      {"a fragment", with_extensions(IPPROTO_FRAGMENT, {IPPROTO_UDP, 0, 0, 1, 0, 0, 0, 1}, "x")},
      {"routing with segments left", with_extensions(IPPROTO_ROUTING, {IPPROTO_UDP, 0, 4, 1, 0, 0, 0, 0}, "x")},
      {"hop-by-hop after another header",
       with_extensions(IPPROTO_DSTOPTS, {IPPROTO_HOPOPTS, 0, 1, 4, 0, 0, 0, 0, IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0}, "x")},
      {"an extension header past the packet", with_extensions(IPPROTO_DSTOPTS, {IPPROTO_UDP, 200, 1, 4, 0, 0, 0, 0}, "x")},
      {"no UDP after the headers", with_extensions(IPPROTO_DSTOPTS, {IPPROTO_TCP, 0, 1, 4, 0, 0, 0, 0}, "x")},
      {"nine option headers",
       [] {
         std::vector<uint8_t> ext;
         for (int i = 0; i < 9; ++i) ext.insert(ext.end(), {static_cast<uint8_t>(i == 8 ? int{IPPROTO_UDP} : int{IPPROTO_DSTOPTS}), 0, 1, 4, 0, 0, 0, 0});
         return with_extensions(IPPROTO_DSTOPTS, ext, "x");
       }()},
  };
  for (const auto& c : cases) EXPECT_FALSE(parse_udp6_packet(c.packet.data(), c.packet.size()).has_value()) << c.what;

  auto good = from_hex(kKernelPacket);
  auto mutated = [&](auto change) {
    auto p = good;
    change(p);
    return parse_udp6_packet(p.data(), p.size()).has_value();
  };
  EXPECT_FALSE(mutated([](auto& p) { p[0] = 0x45; })) << "IPv4";
  EXPECT_FALSE(mutated([](auto& p) { p.resize(60); })) << "shorter than its payload length";
  EXPECT_FALSE(mutated([](auto& p) { p[4] = p[5] = 0; })) << "a jumbogram (payload length 0)";
  EXPECT_FALSE(mutated([](auto& p) { p[45] = 7; })) << "UDP length below its header";
  EXPECT_FALSE(mutated([](auto& p) { p[45] = 0x30; })) << "UDP length past the IPv6 payload";
  EXPECT_FALSE(parse_udp6_packet(good.data(), 39).has_value()) << "not even a header";
}

}  // namespace
}  // namespace ist::native
