// The target's host checks judged on made-up hosts (the reading side is exercised by
// tests/e2e/test_target_input.py in a namespace of the test's own).
#include <linux/rtnetlink.h>
#include <gtest/gtest.h>

#include "netns/target_host_check.hpp"
#include "netns/topology.hpp"

namespace ist::netns {
namespace {

IpPrefix P(const char* s) { return IpPrefix::parse(s).value(); }
IpAddress A(const char* s) { return IpAddress::parse(s).value(); }

// The fixture's generator host: eth1 198.18.100.10/24, no default route.
HostNetwork generator_host() {
  HostNetwork h;
  h.links = {{1, "lo", true}, {2, "eth1", true}, {3, "eth2", true}};
  h.addresses = {{1, P("127.0.0.1/8")}, {2, P("198.18.100.10/24")}, {3, P("198.18.110.10/24")}};
  h.routes = {{P("198.18.100.0/24"), 2, RT_TABLE_MAIN, RTN_UNICAST},
              {P("198.18.110.0/24"), 3, RT_TABLE_MAIN, RTN_UNICAST},
              {P("198.18.120.0/24"), 3, RT_TABLE_MAIN, RTN_UNICAST}};
  return h;
}

TargetNetwork target() {
  TargetNetwork t;
  t.interface = "eth1";
  t.local = P("198.18.100.50/24");
  t.address = A("198.18.100.1");
  t.peers = P("198.19.0.0/17");
  t.inner = P("198.19.128.0/17");
  return t;
}

Result<RouteLookup> via_dev(int oif, std::optional<IpAddress> gw = std::nullopt) {
  return RouteLookup{oif, RTN_UNICAST, gw};
}

std::string joined(const TargetHostCheck& c) {
  std::string s;
  for (const auto& p : c.problems) s += p + "\n";
  return s;
}

TEST(TargetHostCheck, TheFixturesGeneratorHostFits) {
  auto c = check_target_host(target(), generator_host(), via_dev(2));
  EXPECT_TRUE(c.problems.empty()) << joined(c);
  EXPECT_FALSE(c.via);
}

TEST(TargetHostCheck, AnOffLinkGatewayGetsItsNextHop) {
  auto t = target();
  t.address = A("198.18.130.1");
  auto c = check_target_host(t, generator_host(), via_dev(2, A("198.18.100.254")));
  EXPECT_TRUE(c.problems.empty()) << joined(c);
  ASSERT_TRUE(c.via);
  EXPECT_EQ(c.via->str(), "198.18.100.254");
}

TEST(TargetHostCheck, AMissingInterfaceIsNamedWithTheLinksThatExist) {
  auto t = target();
  t.interface = "eth9";
  auto c = check_target_host(t, generator_host(), via_dev(2));
  ASSERT_FALSE(c.problems.empty());
  EXPECT_EQ(c.problems[0], "target.interface eth9 does not exist in this network namespace (its links: lo, eth1, eth2)");
}

TEST(TargetHostCheck, LocalOutsideTheConnectedPrefixOrTakenIsRefused) {
  auto t = target();
  t.local = P("198.18.101.50/24");
  auto c = check_target_host(t, generator_host(), via_dev(2));
  EXPECT_NE(joined(c).find("target.local 198.18.101.50/24 is not inside eth1's connected prefix (198.18.100.0/24)"),
            std::string::npos) << joined(c);
  t.local = P("198.18.100.10/24");
  c = check_target_host(t, generator_host(), via_dev(2));
  EXPECT_NE(joined(c).find("target.local 198.18.100.10 is one of this host's addresses (on eth1)"), std::string::npos)
      << joined(c);
}

TEST(TargetHostCheck, TheHostsOwnAddressIsNoTarget) {
  auto t = target();
  t.address = A("198.18.100.10");
  auto c = check_target_host(t, generator_host(), RouteLookup{1, RTN_LOCAL, std::nullopt});
  ASSERT_EQ(c.problems.size(), 1u) << joined(c);
  EXPECT_NE(c.problems[0].find("target.address 198.18.100.10 is one of this host's addresses (on eth1)"),
            std::string::npos);
}

TEST(TargetHostCheck, PeersOverlappingAHostAddressOrRouteAreRefused) {
  auto t = target();
  t.peers = P("198.18.110.0/23");  // holds eth2's address and its routes
  t.inner = P("198.18.120.128/25");  // inside a host route
  auto c = check_target_host(t, generator_host(), via_dev(2));
  const auto all = joined(c);
  EXPECT_NE(all.find("target.peers 198.18.110.0/23 holds this host's address 198.18.110.10 (on eth2)"), std::string::npos) << all;
  EXPECT_NE(all.find("target.peers 198.18.110.0/23 overlaps this host's route to 198.18.110.0/24 (dev eth2)"), std::string::npos) << all;
  EXPECT_NE(all.find("target.inner 198.18.120.128/25 overlaps this host's route to 198.18.120.0/24 (dev eth2)"), std::string::npos) << all;
}

TEST(TargetHostCheck, ADefaultRouteIsNoOverlap) {
  auto h = generator_host();
  h.routes.push_back({P("0.0.0.0/0"), 2, RT_TABLE_MAIN, RTN_UNICAST});
  auto c = check_target_host(target(), h, via_dev(2));
  EXPECT_TRUE(c.problems.empty()) << joined(c);
}

TEST(TargetHostCheck, UnreachableAndTheWrongInterfaceAreSaid) {
  auto t = target();
  t.address = A("198.18.150.1");
  auto c = check_target_host(t, generator_host(), Error("route lookup", ENETUNREACH));
  ASSERT_EQ(c.problems.size(), 1u) << joined(c);
  EXPECT_EQ(c.problems[0], "target.address 198.18.150.1 is unreachable from this host: no route to it (a route lookup "
                           "in this network namespace; nothing was sent)");
  c = check_target_host(t, generator_host(), Error("route lookup", EINVAL));
  EXPECT_NE(joined(c).find("its route is a blackhole"), std::string::npos);
  c = check_target_host(t, generator_host(), via_dev(3));
  ASSERT_EQ(c.problems.size(), 1u) << joined(c);
  EXPECT_NE(c.problems[0].find("is reached through eth2, not target.interface eth1"), std::string::npos);
}

TEST(TargetHostCheck, ADownInterfaceOrOneWithoutAddressIsRefused) {
  auto h = generator_host();
  h.links[1].up = false;
  auto c = check_target_host(target(), h, via_dev(2));
  EXPECT_NE(joined(c).find("target.interface eth1 is down"), std::string::npos) << joined(c);
  h = generator_host();
  h.addresses.erase(h.addresses.begin() + 1);
  c = check_target_host(target(), h, via_dev(2));
  EXPECT_NE(joined(c).find("eth1 has no IPv4 address"), std::string::npos) << joined(c);
}

// The IPv6 generator host of tests/e2e/gateway_host.py: eth1 2001:2:100::10/64 beside its
// link-local address, fe80::/64 routed on it, no default route.
HostNetwork generator_host_v6() {
  HostNetwork h;
  h.links = {{1, "lo", true}, {2, "eth1", true}};
  h.addresses = {{1, P("::1/128")}, {2, P("2001:2:100::10/64")}, {2, P("fe80::1/64")}};
  h.routes = {{P("2001:2:100::/64"), 2, RT_TABLE_MAIN, RTN_UNICAST},
              {P("fe80::/64"), 2, RT_TABLE_MAIN, RTN_UNICAST},
              {P("2001:2:4100::/64"), 2, RT_TABLE_MAIN, RTN_UNICAST}};
  return h;
}

TargetNetwork target_v6() {
  TargetNetwork t;
  t.interface = "eth1";
  t.local = P("2001:2:100::50/64");
  t.address = A("2001:2:100::1");
  t.peers = P("2001:2:4000::/64");
  t.inner = P("2001:2:4001::/64");
  return t;
}

TEST(TargetHostCheck, AnIpv6TargetIsJudgedAsAnIpv4One) {
  auto c = check_target_host(target_v6(), generator_host_v6(), via_dev(2));
  EXPECT_TRUE(c.problems.empty()) << joined(c);
  auto t = target_v6();
  t.local = P("2001:2:101::50/64");  // the link-local prefix is no connected prefix for local
  c = check_target_host(t, generator_host_v6(), via_dev(2));
  EXPECT_NE(joined(c).find("target.local 2001:2:101::50/64 is not inside eth1's connected prefix (2001:2:100::/64)"),
            std::string::npos) << joined(c);
  t = target_v6();
  t.local = P("2001:2:100::10/64");
  t.peers = P("2001:2:4100::/56");
  c = check_target_host(t, generator_host_v6(), via_dev(2));
  EXPECT_NE(joined(c).find("target.local 2001:2:100::10 is one of this host's addresses (on eth1)"), std::string::npos)
      << joined(c);
  EXPECT_NE(joined(c).find("target.peers 2001:2:4100::/56 overlaps this host's route to 2001:2:4100::/64 (dev eth1)"),
            std::string::npos) << joined(c);
  c = check_target_host(target_v6(), generator_host_v6(), Error("route lookup", ENETUNREACH));
  EXPECT_NE(joined(c).find("target.address 2001:2:100::1 is unreachable from this host: no route to it"),
            std::string::npos) << joined(c);
  // An interface with IPv4 addresses alone has no place for an IPv6 local.
  c = check_target_host(target_v6(), generator_host(), via_dev(2));
  EXPECT_NE(joined(c).find("eth1 has no global IPv6 address"), std::string::npos) << joined(c);
}

TEST(TargetTopology, OneFamilyThroughoutAndIpv6PrefixesHoldThePeers) {
  EXPECT_TRUE(validate(target_v6(), 1000));
  auto t = target_v6();
  t.inner = P("198.19.128.0/17");
  EXPECT_FALSE(validate(t, 1000));
  t = target_v6();
  t.peers = P("2001:2:4000::/118");  // 1,023 hosts
  EXPECT_TRUE(validate(t, 1023));
  EXPECT_FALSE(validate(t, 1024));
  EXPECT_EQ(host_addresses(P("2001:2:4000::/118")), 1023u);
  EXPECT_EQ(host_addresses(P("198.19.0.0/22")), 1022u);
  EXPECT_EQ(host_addresses(P("2001:2::/48")), UINT64_MAX);
  // An off-link IPv6 gateway behind a router named by its global or link-local address.
  t = target_v6();
  t.address = A("2001:2:130::1");
  EXPECT_FALSE(validate(t, 10));  // no next hop
  t.via = A("fe80::1");
  EXPECT_TRUE(validate(t, 10));
  t.via = A("2001:2:100::254");
  EXPECT_TRUE(validate(t, 10));
  t.via = A("2001:2:101::254");
  EXPECT_FALSE(validate(t, 10));
}

TEST(IpAddressText, APortAfterAnIpv6AddressIsBracketed) {
  EXPECT_EQ(host_port(A("198.18.100.1"), 500), "198.18.100.1:500");
  EXPECT_EQ(host_port(A("2001:2:100::1"), 4502), "[2001:2:100::1]:4502");
  sockaddr_storage ss{};
  EXPECT_EQ(to_sockaddr(A("2001:2:100::1"), 500, ss), sizeof(sockaddr_in6));
  EXPECT_EQ(from_sockaddr(ss), A("2001:2:100::1"));
  EXPECT_EQ(to_sockaddr(A("198.18.100.1"), 500, ss), sizeof(sockaddr_in));
  EXPECT_EQ(from_sockaddr(ss), A("198.18.100.1"));
}

TEST(IpPrefixNetwork, ClearsTheHostBitsAndOverlaps) {
  EXPECT_EQ(P("198.18.100.50/24").network().str(), "198.18.100.0/24");
  EXPECT_EQ(P("198.18.100.50/0").network().str(), "0.0.0.0/0");
  EXPECT_EQ(P("198.18.100.50/29").network().str(), "198.18.100.48/29");
  EXPECT_TRUE(P("198.19.0.0/16").overlaps(P("198.19.128.0/17")));
  EXPECT_TRUE(P("198.19.128.0/17").overlaps(P("198.19.0.0/16")));
  EXPECT_FALSE(P("198.19.0.0/17").overlaps(P("198.19.128.0/17")));
}

}  // namespace
}  // namespace ist::netns
