// RawPrefixIo against the real kernel: a topology whose peers namespace holds no address
// per peer, a UDP socket at the SUT's address, and the one packet layer sending from and
// receiving for any address of the routed prefix. Also: what the layer must not let
// through, and that the peers namespace's kernel stays silent (no ICMP) for the prefix.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "common/event_loop.hpp"
#include "fleet/native/raw_prefix_io.hpp"
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

// A counter from /proc/net/snmp of the namespace the calling thread is in.
long snmp_counter(const std::string& group, const std::string& field) {
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
  RawPrefixIoTest() : TwoNamespaceTopology("rawio") {}
  netns::TopologySpec topology_spec() const override {
    netns::TopologySpec spec;
    spec.peer_count = 100;
    spec.peer_addresses = false;
    return spec;
  }
  void SetUp() override {
    TwoNamespaceTopology::SetUp();
    if (::testing::Test::IsSkipped() || ::testing::Test::HasFailure()) return;
    sut_ = netns::testing::udp_socket(topo_->sut_ns(), topo_->sut_ike_address(), 500);
    ASSERT_TRUE(sut_.valid());
    RawPrefixIoOptions o;
    o.interface = topo_->peers_link();
    const netns::Namespace* peers = &topo_->peers_ns();
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
  long peers_ns_counter(const std::string& group, const std::string& field) {
    long v = -1;
    EXPECT_TRUE(topo_->peers_ns().run_in([&]() -> Status {
                       v = snmp_counter(group, field);
                       return ok();
                     }).ok());
    return v;
  }

  struct Got {
    IpPort src, dst;
    std::string payload;
  };
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

}  // namespace
}  // namespace ist::native
