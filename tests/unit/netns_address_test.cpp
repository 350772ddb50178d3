#include <gtest/gtest.h>

#include <set>
#include <string>

#include "netns/address_plan.hpp"
#include "netns/ip_address.hpp"

namespace ist::netns {
namespace {

TEST(NetnsIpAddress, ParsesAndPrints) {
  struct Case {
    const char* text;
    int family;
    const char* printed;
  };
  const Case cases[] = {
      {"198.18.0.1", AF_INET, "198.18.0.1"},
      {"0.0.0.0", AF_INET, "0.0.0.0"},
      {"2001:2::1", AF_INET6, "2001:2::1"},
      {"2001:0002:0000:00ff::0001", AF_INET6, "2001:2:0:ff::1"},
  };
  for (const auto& c : cases) {
    auto a = IpAddress::parse(c.text);
    ASSERT_TRUE(a.ok()) << c.text;
    EXPECT_EQ(a->family, c.family) << c.text;
    EXPECT_EQ(a->str(), c.printed) << c.text;
  }
  for (const char* bad : {"", "198.18.0", "198.18.0.256", "2001:::1", "host"})
    EXPECT_FALSE(IpAddress::parse(bad).ok()) << bad;
}

TEST(NetnsIpAddress, PlusCarriesAcrossBytes) {
  struct Case {
    const char* base;
    std::uint64_t n;
    const char* want;
  };
  const Case cases[] = {
      {"198.19.0.1", 0, "198.19.0.1"},
      {"198.19.0.1", 254, "198.19.0.255"},
      {"198.19.0.1", 255, "198.19.1.0"},
      {"198.19.0.1", 32766, "198.19.127.255"},
      {"198.19.255.255", 1, "198.20.0.0"},
      {"2001:2:0:2::1", 0xffff, "2001:2:0:2::1:0"},
  };
  for (const auto& c : cases)
    EXPECT_EQ(IpAddress::parse(c.base)->plus(c.n).str(), c.want) << c.base << " + " << c.n;
}

TEST(NetnsIpPrefix, ParsesAndContains) {
  struct Case {
    const char* prefix;
    const char* addr;
    bool inside;
  };
  const Case cases[] = {
      {"198.18.0.0/15", "198.19.255.255", true},  {"198.18.0.0/15", "198.20.0.0", false},
      {"198.18.0.0/15", "198.17.255.255", false}, {"198.19.0.0/17", "198.19.127.255", true},
      {"198.19.0.0/17", "198.19.128.0", false},   {"2001:2::/48", "2001:2:0:ffff::1", true},
      {"2001:2::/48", "2001:2:1::1", false},      {"198.18.0.0/15", "2001:2::1", false},
      {"0.0.0.0/0", "8.8.8.8", true},
  };
  for (const auto& c : cases)
    EXPECT_EQ(IpPrefix::parse(c.prefix)->contains(*IpAddress::parse(c.addr)), c.inside)
        << c.prefix << " " << c.addr;
  EXPECT_EQ(IpPrefix::parse("198.18.0.1/30")->str(), "198.18.0.1/30");
  EXPECT_EQ(IpPrefix::parse("198.18.0.1")->length, 32);
  for (const char* bad : {"198.18.0.0/33", "198.18.0.0/", "198.18.0.0/x", "2001:2::/129"})
    EXPECT_FALSE(IpPrefix::parse(bad).ok()) << bad;
}

TEST(NetnsAddressPlan, MatchesTheDesignDocument) {
  const Family v4 = Family::v4;
  EXPECT_EQ(AddressPlan::sut_link(v4).str(), "198.18.0.1/30");
  EXPECT_EQ(AddressPlan::peers_link(v4).str(), "198.18.0.2/30");
  EXPECT_EQ(AddressPlan::sut_subnet(v4).str(), "198.18.255.0/24");
  EXPECT_EQ(AddressPlan::sut_subnet_address(v4).str(), "198.18.255.1");
  EXPECT_EQ(AddressPlan::peer_ike_address(0).str(), "198.19.0.1");
  EXPECT_EQ(AddressPlan::peer_inner_address(0).str(), "198.19.128.1");
  EXPECT_EQ(AddressPlan::peer_ike_address(9999).str(), "198.19.39.16");
  EXPECT_EQ(AddressPlan::peer_ike_address(AddressPlan::max_peers - 1).str(), "198.19.127.255");
  EXPECT_EQ(AddressPlan::peer_inner_address(AddressPlan::max_peers - 1).str(), "198.19.255.255");
  EXPECT_EQ(AddressPlan::peer_ike_address(0, Family::v6).str(), "2001:2:0:2::1");
  EXPECT_EQ(AddressPlan::peer_inner_address(0, Family::v6).str(), "2001:2:0:3::1");
  // IPv6 peers (peers.family: ipv6) reach past the IPv4 plan's 32,767.
  static_assert(peer_capacity(Family::v6) >= 131072 && peer_capacity(Family::v4) == 32767);
  EXPECT_EQ(AddressPlan::peer_ike_address(peer_capacity(Family::v6) - 1, Family::v6).str(), "2001:2:0:2::2:0");
  EXPECT_EQ(AddressPlan::peer_inner_address(peer_capacity(Family::v6) - 1, Family::v6).str(), "2001:2:0:3::2:0");
}

// Every address of the plan is in the harness's ranges, in its own block, routed to the
// right side, and no two collide.
TEST(NetnsAddressPlan, RangesAreDisjointRoutedAndInsideTheHarnessBlocks) {
  for (Family f : {Family::v4, Family::v6}) {
    std::set<std::string> seen;
    auto check = [&](const IpAddress& a, const IpPrefix& block, const IpPrefix* route) {
      EXPECT_TRUE(in_harness_range(a)) << a.str();
      EXPECT_TRUE(block.contains(a)) << a.str() << " not in " << block.str();
      if (route) {
        EXPECT_TRUE(route->contains(a)) << a.str() << " not routed by " << route->str();
      }
      EXPECT_TRUE(seen.insert(a.str()).second) << a.str() << " used twice";
    };
    const IpPrefix to_peers = AddressPlan::peers_side_route(f);
    const IpPrefix to_sut = AddressPlan::sut_side_route(f);
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{255}, std::size_t{9999},
                          (f == Family::v4 ? AddressPlan::max_peers : peer_capacity(f)) - 1}) {
      check(AddressPlan::peer_ike_address(i, f), AddressPlan::peer_ike_range(f), &to_peers);
      check(AddressPlan::peer_inner_address(i, f), AddressPlan::peer_inner_range(f), &to_peers);
    }
    check(AddressPlan::sut_subnet_address(f), AddressPlan::sut_subnet(f), &to_sut);
    check(AddressPlan::sut_link(f).address, AddressPlan::sut_link(f), nullptr);  // on-link
    // The SUT's own route must not swallow its subnet, nor the peers' route the link.
    EXPECT_FALSE(to_peers.contains(AddressPlan::sut_subnet_address(f)));
    EXPECT_FALSE(to_sut.contains(AddressPlan::peer_ike_address(0, f)));
    EXPECT_TRUE(AddressPlan::sut_link(f).contains(AddressPlan::peers_link(f).address));
  }
}

}  // namespace
}  // namespace ist::netns
