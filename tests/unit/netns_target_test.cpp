// The target topology's spec checks (netns/target_topology.cpp); the build itself needs root
// and a host interface: tests/e2e/test_target.py.
#include <gtest/gtest.h>

#include <string>

#include "netns/topology.hpp"

namespace ist::netns {
namespace {

IpPrefix pfx(const char* t) { return IpPrefix::parse(t).value(); }
IpAddress addr(const char* t) { return IpAddress::parse(t).value(); }

TargetNetwork lan() {
  TargetNetwork t;
  t.interface = "eth1";
  t.local = pfx("198.18.100.50/24");
  t.address = addr("198.18.100.1");
  t.peers = pfx("198.19.0.0/17");
  t.inner = pfx("198.19.128.0/17");
  return t;
}

std::string why(const TargetNetwork& t, std::size_t peers) {
  auto st = validate(t, peers);
  return st ? std::string() : st.error().describe();
}

TEST(NetnsTarget, OnLinkGatewayNeedsNoNextHop) { EXPECT_EQ(why(lan(), 1000), ""); }

TEST(NetnsTarget, OffLinkGatewayNeedsANextHopOnLocalsNetwork) {
  TargetNetwork t = lan();
  t.address = addr("198.18.50.1");
  EXPECT_NE(why(t, 10).find("no next hop"), std::string::npos);
  t.via = addr("198.18.100.254");
  EXPECT_EQ(why(t, 10), "");
  t.via = addr("198.18.101.254");
  EXPECT_NE(why(t, 10).find("not on target.local's network 198.18.100.0/24"), std::string::npos);
}

TEST(NetnsTarget, PrefixesHoldThePeersAndStayApart) {
  TargetNetwork t = lan();
  EXPECT_NE(why(t, 40000).find("holds fewer than 40000"), std::string::npos);
  t.peers = pfx("198.18.100.128/25");
  EXPECT_NE(why(t, 10).find("overlaps 198.18.100.0/24"), std::string::npos);
  t = lan();
  t.inner = pfx("198.19.0.0/16");
  EXPECT_NE(why(t, 10).find("overlap"), std::string::npos);
  t = lan();
  t.local = pfx("198.18.100.1/24");
  EXPECT_NE(why(t, 10).find("gateway's own address"), std::string::npos);
}

TEST(NetnsTarget, TopologySpecRejectsLinkImpairmentAndIpv6) {
  TopologySpec spec;
  spec.peer_count = 10;
  spec.target = lan();
  EXPECT_TRUE(validate(spec));
  spec.ipv6 = true;
  EXPECT_FALSE(validate(spec));
  spec.ipv6 = false;
  spec.link.loss_percent = 1;
  EXPECT_FALSE(validate(spec));
}

}  // namespace
}  // namespace ist::netns
