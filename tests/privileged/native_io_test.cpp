// RawPrefixIo against the real kernel: a topology whose peers namespace holds no address
// per peer, a UDP socket at the SUT's address, and the one packet layer sending from and
// receiving for any address of the routed prefix, over IPv4 and over IPv6 (2001:2::/48; the
// SUT's kernel checks our UDP checksums). Also: what the layer must not let through, that
// the peers namespace's kernel stays silent (no ICMP) for the prefix, and that the SUT holds
// one neighbour entry for the peers' link however many peer addresses it answered.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "common/event_loop.hpp"
#include "fleet/native/raw_prefix_io.hpp"
#include "netns/nl_socket.hpp"
#include "netns/rtnl.hpp"
#include "netns/topology.hpp"
#include "netns_support.hpp"
#include "two_namespace_fixture.hpp"

namespace ist::native {
namespace {

using namespace std::chrono_literals;
using netns::IpAddress;

IpPort ipport(const std::string& text, uint16_t port) {
  auto a = IpAddress::parse(text).value();
  return IpPort::of(ByteView(a.bytes.data(), a.size()), port);
}

// A counter from /proc/net/snmp6 ("Icmp6OutMsgs 3" lines) of the calling thread's namespace.
long snmp6_counter(const std::string& field) {
  std::ifstream f("/proc/thread-self/net/snmp6");
  std::string name;
  long value;
  while (f >> name >> value)
    if (name == field) return value;
  return -1;
}

// A counter from /proc/net/snmp of the namespace the calling thread is in.
long snmp_counter(const std::string& group, const std::string& field) {
  if (group.back() == '6') return snmp6_counter(group + field);
  std::ifstream f("/proc/thread-self/net/snmp");
  std::string names, values;
  while (std::getline(f, names) && std::getline(f, values)) {
    if (names.rfind(group + ":", 0) != 0) continue;
    std::istringstream n(names), v(values);
    std::string name, value;
    while (n >> name && v >> value)
      if (name == field) return std::stol(value);
  }
  return -1;
}

class RawPrefixIoTest : public test::TwoNamespaceTopology {
 protected:
  explicit RawPrefixIoTest(netns::Family family = netns::Family::v4)
      : TwoNamespaceTopology(family == netns::Family::v4 ? "rawio" : "rawio6"), family_(family) {}
  netns::TopologySpec topology_spec() const override {
    netns::TopologySpec spec;
    spec.peer_count = 100;
    spec.peer_addresses = false;
    spec.peer_family = family_;  // v6: IPv6-only peers, as peers.family: ipv6 builds them
    return spec;
  }
  void SetUp() override {
    TwoNamespaceTopology::SetUp();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure()) return;
    const netns::Namespace* peers = &topo_->peers_ns();
    if (family_ == netns::Family::v6) {  // as the native engine does (raw_prefix_io.hpp)
      ASSERT_TRUE(peers->run_in([]() -> Status {
                           IST_TRY_ASSIGN(auto sock, netns::NlSocket::open(NETLINK_ROUTE));
                           return netns::add_blackhole_route(sock, netns::AddressPlan::peers_side_route(netns::Family::v6));
                         }).ok());
    }
    sut_ = netns::testing::udp_socket(topo_->sut_ns(), topo_->sut_ike_address(family_), 500);
    ASSERT_TRUE(sut_.valid());
    RawPrefixIoOptions o;
    o.interface = topo_->peers_link();
    const auto range = netns::AddressPlan::peer_ike_range(family_);
    o.set_prefix(ByteView(range.address.bytes.data(), range.address.size()), static_cast<unsigned>(range.length));
    o.run_in = [peers](const std::function<Status()>& fn) { return peers->run_in(fn); };
    auto io = RawPrefixIo::open(loop_, o);
    ASSERT_TRUE(io.ok()) << io.error().describe();
    io_ = std::move(*io);
    io_->set_receiver([this](std::span<const PacketDatagram> batch) {
      for (const auto& d : batch) got_.push_back({d.src, d.dst, std::string(d.payload.begin(), d.payload.end())});
    });
  }
  void release_before_teardown() override {
    io_.reset();
    sut_.reset();
  }
  void run_for(std::chrono::milliseconds d) { (void)loop_.run_until([] { return false; }, loop_.clock().now() + d); }
  long ns_counter(const netns::Namespace& ns, const std::string& group, const std::string& field) {
    long v = -1;
    EXPECT_TRUE(ns.run_in([&]() -> Status {
                   v = snmp_counter(group, field);
                   return ok();
                 }).ok());
    return v;
  }
  long peers_ns_counter(const std::string& group, const std::string& field) {
    return ns_counter(topo_->peers_ns(), group, field);
  }
  // The SUT's neighbour entries with a global address (`ip -6 neigh`: the link-local one
  // of the same link may sit beside it).
  std::vector<std::string> sut_global_neighbours() {
    std::vector<std::string> out;
    std::istringstream lines(netns::testing::ip_output({"-6", "neigh", "show"}, topo_->sut_ns().name()));
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && line.rfind("fe80:", 0) != 0) out.push_back(line.substr(0, line.find(' ')));
    return out;
  }

  struct Got {
    IpPort src, dst;
    std::string payload;
  };
  netns::Family family_;
  EventLoop loop_;
  unique_fd sut_;
  std::unique_ptr<RawPrefixIo> io_;
  std::vector<Got> got_;
};

TEST(RawPrefixChecksums, MatchKnownHeaders) {
  // RFC 1071-style one's complement sums over a textbook IPv4 header (checksum field zero).
  const uint8_t header[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                              0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4_header_checksum(header, 20), 0xb861);
  // UDP: a sum that folds to zero is sent as 0xffff (zero means "no checksum").
  struct Case {
    std::vector<uint8_t> src, dst, udp;
    uint16_t want;
  } cases[] = {
      {{198, 19, 0, 1}, {198, 18, 0, 1}, {0x01, 0xf4, 0x01, 0xf4, 0x00, 0x0a, 0x00, 0x00, 'h', 'i'}, 0x0761},
      {{0, 0, 0, 0}, {0, 0, 0, 0}, {0xff, 0xff, 0xff, 0xff, 0x00, 0x08, 0x00, 0x00}, 0xffde},
      {{0, 0, 0, 0}, {0, 0, 0, 0}, {0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0xff, 0xda}, 0xffff},
  };
  for (const auto& c : cases)
    EXPECT_EQ(udp4_checksum(c.src.data(), c.dst.data(), c.udp.data(), c.udp.size()), c.want);
}

TEST_F(RawPrefixIoTest, SendsFromAnyPrefixAddressAndReceivesTheAnswers) {
  struct Case {
    const char* src;
    uint16_t port;
  } cases[] = {{"198.19.0.1", 500}, {"198.19.0.2", 4500}, {"198.19.100.7", 500}, {"198.19.127.254", 4500},
               {"198.19.0.1", 4500}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.src) + ":" + std::to_string(c.port));
    got_.clear();
    const IpPort src = ipport(c.src, c.port);
    const std::string payload = "ike from " + src.str();
    ASSERT_TRUE(io_->can_send_from(src));
    io_->send({src, ipport("198.18.0.1", 500), ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())});
    run_for(20ms);  // the end of the loop iteration flushes
    auto at_sut = netns::testing::recv_udp(sut_.get(), 1s);
    ASSERT_TRUE(at_sut.has_value()) << "the SUT got nothing (bad checksum or not routed)";
    EXPECT_EQ(at_sut->from.str(), c.src);
    EXPECT_EQ(at_sut->port, c.port);
    EXPECT_EQ(at_sut->payload, payload);
    // The SUT answers the source: only the packet layer can take it (no kernel address).
    ASSERT_TRUE(netns::testing::send_udp(sut_.get(), at_sut->from, at_sut->port, "answer to " + src.str()));
    for (int i = 0; i < 50 && got_.empty(); ++i) run_for(10ms);
    ASSERT_EQ(got_.size(), 1u);
    EXPECT_EQ(got_[0].src, ipport("198.18.0.1", 500));
    EXPECT_EQ(got_[0].dst, src);
    EXPECT_EQ(got_[0].payload, "answer to " + src.str());
  }
  EXPECT_EQ(io_->stats().send_errors, 0u);
}

TEST_F(RawPrefixIoTest, DeliversOnlyItsPortsAndPrefixAndThePeersKernelStaysSilent) {
  const long icmp_before = peers_ns_counter("Icmp", "OutMsgs");
  ASSERT_GE(icmp_before, 0);
  struct Case {
    const char* to;
    uint16_t port;
    bool delivered;
  } cases[] = {
      {"198.19.0.9", 500, true},  {"198.19.0.9", 4500, true},   {"198.19.0.9", 501, false},
      {"198.19.0.9", 53, false},  {"198.19.128.9", 500, false},  // routed there, but outside the /17
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.to) + ":" + std::to_string(c.port));
    got_.clear();
    ASSERT_TRUE(netns::testing::send_udp(sut_.get(), IpAddress::parse(c.to).value(), c.port, "probe"));
    for (int i = 0; i < 10 && got_.empty(); ++i) run_for(10ms);
    EXPECT_EQ(got_.size(), c.delivered ? 1u : 0u);
  }
  // Nothing of the prefix is local or forwarded in the peers namespace: no port or host
  // unreachable went back to the SUT.
  EXPECT_EQ(peers_ns_counter("Icmp", "OutMsgs"), icmp_before);
}

TEST_F(RawPrefixIoTest, RefusesSourcesOutsideThePrefixAndSendsABurstAsBatches) {
  for (const char* bad : {"198.19.128.1", "198.18.0.2", "10.0.0.1"}) {
    EXPECT_FALSE(io_->can_send_from(ipport(bad, 500))) << bad;
    io_->send({ipport(bad, 500), ipport("198.18.0.1", 500), ByteView()});
  }
  IpPort v6;
  v6.len = 16;
  EXPECT_FALSE(io_->can_send_from(v6));
  EXPECT_EQ(io_->stats().send_errors, 3u);

  // 1,000 datagrams from 1,000 sources queued in one handler leave as sendmmsg batches.
  int size = 8 << 20;
  ASSERT_EQ(::setsockopt(sut_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size), 0);
  const std::string payload(200, 'x');
  for (uint32_t i = 0; i < 1000; ++i) {
    auto a = IpAddress::v4((198u << 24 | 19u << 16) + 1 + i);
    io_->send({IpPort::of(ByteView(a.bytes.data(), 4), 500), ipport("198.18.0.1", 500),
               ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())});
  }
  run_for(20ms);
  EXPECT_EQ(io_->stats().sent, 1000u);
  int at_sut = 0;
  while (netns::testing::recv_udp(sut_.get(), 200ms)) ++at_sut;
  EXPECT_EQ(at_sut, 1000);
}

class RawPrefixIo6Test : public RawPrefixIoTest {
 protected:
  RawPrefixIo6Test() : RawPrefixIoTest(netns::Family::v6) {}
  const IpAddress sut_address_ = IpAddress::parse("2001:2::1").value();
};

TEST_F(RawPrefixIo6Test, SendsFromAnyPrefixAddressAndReceivesTheAnswers) {
  ASSERT_EQ(topo_->sut_ike_address(netns::Family::v6), sut_address_);
  unique_fd sut_natt = netns::testing::udp_socket(topo_->sut_ns(), sut_address_, 4500);
  ASSERT_TRUE(sut_natt.valid());
  const long csum_errors = ns_counter(topo_->sut_ns(), "Udp6", "InCsumErrors");
  const std::string marker("\0\0\0\0", 4);  // NAT-T on 4500: IKE behind the non-ESP marker
  struct Case {
    const char* src;
    uint16_t port;
  } cases[] = {{"2001:2:0:2::1", 500},
               {"2001:2:0:2::2", 4500},
               {"2001:2:0:2::1:0", 500},
               {"2001:2:0:2:ffff:ffff:ffff:fffe", 4500},
               {"2001:2:0:2::1", 4500}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.src) + " port " + std::to_string(c.port));
    got_.clear();
    const IpPort src = ipport(c.src, c.port);
    const bool natt = c.port == 4500;
    const std::string payload = (natt ? marker : "") + "ike from " + src.str();
    ASSERT_TRUE(io_->can_send_from(src));
    io_->send({src, IpPort::of(ByteView(sut_address_.bytes.data(), 16), c.port),
               ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())});
    run_for(20ms);
    const int at = natt ? sut_natt.get() : sut_.get();
    auto at_sut = netns::testing::recv_udp(at, 1s);
    ASSERT_TRUE(at_sut.has_value()) << "the SUT got nothing (bad checksum or not routed)";
    EXPECT_EQ(at_sut->from, IpAddress::parse(c.src).value());
    EXPECT_EQ(at_sut->port, c.port);
    EXPECT_EQ(at_sut->payload, payload);
    const std::string answer = (natt ? marker : "") + "answer to " + src.str();
    ASSERT_TRUE(netns::testing::send_udp(at, at_sut->from, at_sut->port, answer));
    for (int i = 0; i < 50 && got_.empty(); ++i) run_for(10ms);
    ASSERT_EQ(got_.size(), 1u);
    EXPECT_EQ(got_[0].src, IpPort::of(ByteView(sut_address_.bytes.data(), 16), c.port));
    EXPECT_EQ(got_[0].dst, src);
    EXPECT_EQ(got_[0].payload, answer);
  }
  EXPECT_EQ(io_->stats().send_errors, 0u);
  EXPECT_EQ(ns_counter(topo_->sut_ns(), "Udp6", "InCsumErrors"), csum_errors);
  // The SUT answered five peer addresses through one next hop: the peers' link address.
  EXPECT_EQ(sut_global_neighbours(), std::vector<std::string>{"2001:2::2"});
}

TEST_F(RawPrefixIo6Test, DeliversOnlyItsPortsAndPrefixAndThePeersKernelStaysSilent) {
  const long icmp_before = peers_ns_counter("Icmp6", "OutDestUnreachs");
  ASSERT_GE(icmp_before, 0);
  struct Case {
    const char* to;
    uint16_t port;
    bool delivered;
  } cases[] = {
      {"2001:2:0:2::9", 500, true},  {"2001:2:0:2::9", 4500, true}, {"2001:2:0:2::9", 501, false},
      {"2001:2:0:2::9", 53, false},  {"2001:2:0:3::9", 500, false},  // routed there, but outside the /64
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.to) + " port " + std::to_string(c.port));
    got_.clear();
    ASSERT_TRUE(netns::testing::send_udp(sut_.get(), IpAddress::parse(c.to).value(), c.port, "probe"));
    for (int i = 0; i < 10 && got_.empty(); ++i) run_for(10ms);
    EXPECT_EQ(got_.size(), c.delivered ? 1u : 0u);
  }
  // The blackhole route keeps the peers' kernel from answering "no route".
  EXPECT_EQ(peers_ns_counter("Icmp6", "OutDestUnreachs"), icmp_before);
}

TEST_F(RawPrefixIo6Test, SkipsTheKernelsDestinationOptionsAndDropsFragmentsCounted) {
  // A destination options header (PadN to 8 bytes) on the SUT's datagrams, from its kernel.
  unique_fd with_options = netns::testing::udp_socket(topo_->sut_ns(), sut_address_, 0);
  ASSERT_TRUE(with_options.valid());
  const uint8_t dstopts[8] = {0, 0, 1, 4, 0, 0, 0, 0};
  ASSERT_EQ(::setsockopt(with_options.get(), IPPROTO_IPV6, IPV6_DSTOPTS, dstopts, sizeof dstopts), 0);
  ASSERT_TRUE(netns::testing::send_udp(with_options.get(), IpAddress::parse("2001:2:0:2::9").value(), 500, "behind options"));
  for (int i = 0; i < 20 && got_.empty(); ++i) run_for(10ms);
  ASSERT_EQ(got_.size(), 1u);
  EXPECT_EQ(got_[0].payload, "behind options");
  EXPECT_EQ(got_[0].dst, ipport("2001:2:0:2::9", 500));

  // 3,000 bytes over a 1,500-byte link: the SUT's kernel fragments; we do not reassemble.
  got_.clear();
  const uint64_t dropped = io_->stats().rx_dropped;
  ASSERT_TRUE(netns::testing::send_udp(sut_.get(), IpAddress::parse("2001:2:0:2::9").value(), 500, std::string(3000, 'f')));
  run_for(100ms);
  EXPECT_TRUE(got_.empty());
  EXPECT_EQ(io_->stats().rx_dropped, dropped + 3) << "three fragments seen and dropped";
}

TEST_F(RawPrefixIo6Test, RefusesSourcesOutsideThePrefixAndABurstKeepsOneNeighbour) {
  for (const char* bad : {"2001:2:0:3::1", "2001:2::2", "2001:2:0:1::1"}) {
    EXPECT_FALSE(io_->can_send_from(ipport(bad, 500))) << bad;
    io_->send({ipport(bad, 500), ipport("2001:2::1", 500), ByteView()});
  }
  EXPECT_FALSE(io_->can_send_from(ipport("198.19.0.1", 500)));
  io_->send({ipport("198.19.0.1", 500), ipport("198.18.0.1", 500), ByteView()});
  EXPECT_EQ(io_->stats().send_errors, 4u);

  // 1,000 sources in one handler, each answered by the SUT.
  int size = 8 << 20;
  ASSERT_EQ(::setsockopt(sut_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size), 0);
  const std::string payload(200, 'x');
  const auto base = netns::AddressPlan::peer_ike_address(0, netns::Family::v6);
  for (uint32_t i = 0; i < 1000; ++i) {
    auto a = base.plus(i);
    io_->send({IpPort::of(ByteView(a.bytes.data(), 16), 500), ipport("2001:2::1", 500),
               ByteView(reinterpret_cast<const uint8_t*>(payload.data()), payload.size())});
  }
  run_for(20ms);
  EXPECT_EQ(io_->stats().sent, 1000u);
  int at_sut = 0;
  while (auto d = netns::testing::recv_udp(sut_.get(), 200ms)) {
    ++at_sut;
    ASSERT_TRUE(netns::testing::send_udp(sut_.get(), d->from, d->port, "ok"));
  }
  EXPECT_EQ(at_sut, 1000);
  for (int i = 0; i < 100 && got_.size() < 1000; ++i) run_for(10ms);
  EXPECT_EQ(got_.size(), 1000u);
  EXPECT_EQ(sut_global_neighbours(), std::vector<std::string>{"2001:2::2"});
}

}  // namespace
}  // namespace ist::native
