#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <set>

#include "common/named_netns.hpp"
#include "netns/topology.hpp"
#include "netns_support.hpp"

namespace ist::netns {
namespace {

using namespace std::chrono_literals;
using testing::NetnsTest;

// Listens to the host namespace's link notifications, to prove none of ours ever appears.
class HostLinkWatch {
 public:
  HostLinkWatch() {
    fd_.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE));
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = RTMGRP_LINK;
    int size = 8 << 20;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    ok_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  }
  bool ok() const { return ok_; }
  // Names of links announced in the host since construction that start with `prefix`.
  std::set<std::string> seen(const std::string& prefix) {
    std::set<std::string> out;
    alignas(nlmsghdr) char buf[65536];
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (n <= 0) break;
      int left = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_type != RTM_NEWLINK && h->nlmsg_type != RTM_DELLINK) continue;
        auto* ifi = static_cast<ifinfomsg*>(NLMSG_DATA(h));
        int alen = static_cast<int>(IFLA_PAYLOAD(h));
        for (auto* a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
          if (a->rta_type != IFLA_IFNAME) continue;
          std::string name(static_cast<const char*>(RTA_DATA(a)));
          if (name.rfind(prefix, 0) == 0) out.insert(name);
        }
      }
    }
    return out;
  }

 private:
  unique_fd fd_;
  bool ok_ = false;
};

std::size_t count_lines_with(const std::string& text, const std::string& needle) {
  std::size_t n = 0, at = 0;
  while ((at = text.find(needle, at)) != std::string::npos) ++n, at += needle.size();
  return n;
}

// UDP from a peer address to a SUT address and back; the SUT must see the peer's own
// address as source (no NAT, no rp_filter drop) and the peer the SUT's.
void expect_round_trip(const Topology& topo, const IpAddress& peer, const IpAddress& sut) {
  SCOPED_TRACE(peer.str() + " <-> " + sut.str());
  unique_fd server = testing::udp_socket(topo.sut_ns(), sut, 0);
  unique_fd client = testing::udp_socket(topo.peers_ns(), peer, 0);
  ASSERT_TRUE(server && client);
  const std::uint16_t port = testing::local_port(server.get());
  ASSERT_TRUE(testing::send_udp(client.get(), sut, port, "ping " + peer.str()));
  auto got = testing::recv_udp(server.get(), 2s);
  ASSERT_TRUE(got.has_value()) << "nothing arrived at the SUT";
  EXPECT_EQ(got->from.str(), peer.str());
  EXPECT_EQ(got->payload, "ping " + peer.str());
  ASSERT_TRUE(testing::send_udp(server.get(), got->from, got->port, "pong"));
  auto back = testing::recv_udp(client.get(), 2s);
  ASSERT_TRUE(back.has_value()) << "the reply did not come back";
  EXPECT_EQ(back->from.str(), sut.str());
}

// Acceptance: 10,000 peers (20,000 addresses) in <= 2 s, reachable, nothing in the host.
TEST_F(NetnsTest, TenThousandPeersBuildFastAndReachTheSut) {
  HostLinkWatch watch;
  ASSERT_TRUE(watch.ok());
  TopologySpec spec;
  spec.peer_count = 10000;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  const auto& t = topo->timings();
  std::printf("netns build, 10000 peers: total %.3f s (namespaces %.3f, addresses %.3f, link %.3f)\n",
              t.total_s, t.namespaces_s, t.addresses_s, t.link_s);
  RecordProperty("build_seconds", std::to_string(t.total_s));
  EXPECT_LE(t.total_s, 2.0);

  EXPECT_EQ(count_lines_with(testing::ip_output({"-o", "-4", "addr", "show"}, topo->peers_ns().name()), " 198.19."),
            20000u);
  EXPECT_EQ(topo->address_holders().size(), 20u);  // 20,000 addresses, 1,024 per bridge

  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<std::size_t> pick(0, spec.peer_count - 1);
  for (int n = 0; n < 3; ++n) {
    std::size_t i = pick(rng);
    expect_round_trip(*topo, topo->peer_ike_address(i), topo->sut_ike_address());
    expect_round_trip(*topo, topo->peer_inner_address(i), topo->sut_subnet_address());
  }
  // One neighbour entry per side whatever the peer count (routes, not ARP per peer).
  const std::string neigh = testing::ip_output({"-4", "neigh", "show"}, topo->sut_ns().name());
  EXPECT_EQ(count_lines_with(neigh, "198.19."), 0u) << neigh;
  EXPECT_EQ(count_lines_with(neigh, " dev "), 1u) << neigh;

  ASSERT_TRUE(topo->teardown().ok());
  EXPECT_TRUE(watch.seen("ist" + state().run_id()).empty()) << "a link of this run appeared in the host";
}

TEST_F(NetnsTest, TeardownLeavesTheHostAsItWas) {
  const std::string before = testing::host_snapshot();
  std::string sut_name, peers_name;
  {
    TopologySpec spec;
    spec.peer_count = 300;
    spec.ipv6 = true;
    spec.link.rate_bits_per_s = 100'000'000;
    spec.link.loss_percent = 1;
    auto topo = Topology::build(state(), spec);
    ASSERT_TRUE(topo.ok()) << topo.error().describe();
    sut_name = topo->sut_ns().name();
    peers_name = topo->peers_ns().name();
    EXPECT_TRUE(named_netns_exists(sut_name) && named_netns_exists(peers_name));
    ASSERT_TRUE(topo->teardown().ok());
    EXPECT_TRUE(topo->teardown().ok());  // idempotent
  }
  EXPECT_FALSE(named_netns_exists(sut_name));
  EXPECT_FALSE(named_netns_exists(peers_name));
  EXPECT_EQ(testing::host_snapshot(), before);
}

TEST_F(NetnsTest, Ipv6PlanIsReachable) {
  TopologySpec spec;
  spec.peer_count = 50;
  spec.ipv6 = true;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  expect_round_trip(*topo, topo->peer_ike_address(49, Family::v6), topo->sut_ike_address(Family::v6));
  expect_round_trip(*topo, topo->peer_inner_address(7, Family::v6), topo->sut_subnet_address(Family::v6));
  expect_round_trip(*topo, topo->peer_ike_address(0), topo->sut_ike_address());
}

// The IPv6 bound (peer_capacity(Family::v6), 131,072 peers = 262,144 addresses): built,
// reachable, torn down. Minutes of a shared machine's kernel time, so not in the default
// run: --gtest_also_run_disabled_tests --gtest_filter='*Ipv6Capacity*' (IST_V6_PEERS=N: N peers).
TEST_F(NetnsTest, DISABLED_Ipv6CapacityBuildsAndReachesTheSut) {
  TopologySpec spec;
  spec.peer_count = peer_capacity(Family::v6);
  if (const char* n = std::getenv("IST_V6_PEERS")) spec.peer_count = std::strtoul(n, nullptr, 10);  // a smaller step
  spec.peer_family = Family::v6;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  const auto& t = topo->timings();
  std::printf("netns build, %zu IPv6 peers: total %.3f s (namespaces %.3f, addresses %.3f, link %.3f)\n",
              spec.peer_count, t.total_s, t.namespaces_s, t.addresses_s, t.link_s);
  EXPECT_EQ(topo->address_holders().size(), (2 * spec.peer_count + 1023) / 1024);
  expect_round_trip(*topo, topo->peer_ike_address(spec.peer_count - 1), topo->sut_ike_address());
  expect_round_trip(*topo, topo->peer_inner_address(spec.peer_count - 1), topo->sut_subnet_address());
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(topo->teardown().ok());
  std::printf("teardown %.3f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
}

// peers.family: ipv6: the peers hold IPv6 addresses only, the family-less accessors answer
// IPv6, and the addresses are usable at once (no DAD: nothing stays tentative).
TEST_F(NetnsTest, Ipv6OnlyPeersHoldNoIpv4AddressAndReachTheSut) {
  TopologySpec spec;
  spec.peer_count = 2000;
  spec.peer_family = Family::v6;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  std::printf("netns build, 2000 IPv6 peers: total %.3f s (addresses %.3f)\n", topo->timings().total_s,
              topo->timings().addresses_s);
  EXPECT_EQ(topo->peer_ike_address(1999).str(), "2001:2:0:2::7d0");
  EXPECT_EQ(topo->sut_ike_address().str(), "2001:2::1");
  EXPECT_EQ(topo->sut_subnet().str(), "2001:2:0:ff::/64");
  const std::string peers = topo->peers_ns().name();
  EXPECT_EQ(count_lines_with(testing::ip_output({"-o", "-4", "addr", "show"}, peers), " 198.19."), 0u);
  EXPECT_EQ(count_lines_with(testing::ip_output({"-o", "-6", "addr", "show"}, peers), " 2001:2:0:"), 4000u);
  EXPECT_EQ(count_lines_with(testing::ip_output({"-o", "-6", "addr", "show", "tentative"}, peers), "2001:2"), 0u);
  EXPECT_EQ(topo->address_holders().size(), 4u);
  expect_round_trip(*topo, topo->peer_ike_address(1999), topo->sut_ike_address());
  expect_round_trip(*topo, topo->peer_inner_address(3), topo->sut_subnet_address());
  const std::string neigh = testing::ip_output({"-6", "neigh", "show"}, topo->sut_ns().name());
  EXPECT_EQ(count_lines_with(neigh, "2001:2:0:2"), 0u) << neigh;
}

TEST_F(NetnsTest, PartialFailureRollsBackAndSparesForeignNamespaces) {
  // Someone else's namespace holds the name the peers side needs.
  auto squatter = Namespace::create(state(), "peers");
  ASSERT_TRUE(squatter.ok()) << squatter.error().describe();
  TopologySpec spec;
  spec.peer_count = 10;
  auto topo = Topology::build(state(), spec);
  ASSERT_FALSE(topo.ok());
  EXPECT_NE(topo.error().describe().find("already exists"), std::string::npos) << topo.error().describe();
  EXPECT_FALSE(named_netns_exists(netns_name(state().run_id(), "sut")));  // rolled back
  EXPECT_TRUE(named_netns_exists(squatter->name()));                       // not ours to remove
  ASSERT_TRUE(squatter->destroy().ok());
}

TEST_F(NetnsTest, DelayIsRefusedAndTheTopologyStaysUsable) {
  TopologySpec spec;
  spec.peer_count = 2;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  LinkImpairment delayed;
  delayed.delay = 30ms;
  auto st = topo->set_link(delayed);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().describe().find("userspace impairment engine"), std::string::npos);
  expect_round_trip(*topo, topo->peer_ike_address(1), topo->sut_ike_address());
}

}  // namespace
}  // namespace ist::netns
