#include <gtest/gtest.h>
#include <linux/capability.h>

#include <string>

#include "netns/impairment.hpp"
#include "netns/privileges.hpp"
#include "netns/sysctl.hpp"
#include "netns/topology.hpp"

namespace ist::netns {
namespace {

using namespace std::chrono_literals;

TEST(NetnsPrivileges, NeedsNetAdminAndSysAdmin) {
  const std::uint64_t net = 1ULL << CAP_NET_ADMIN, sys = 1ULL << CAP_SYS_ADMIN;
  struct Case {
    std::uint64_t caps;
    bool ok;
  };
  for (auto c : {Case{0, false}, Case{net, false}, Case{sys, false}, Case{net | sys, true},
                 Case{0x1ffffffffffULL, true}}) {
    auto st = check_caps(c.caps);
    EXPECT_EQ(st.ok(), c.ok) << std::hex << c.caps;
    if (!st.ok()) {
      EXPECT_NE(st.error().describe().find("needs root"), std::string::npos);
      EXPECT_EQ(st.error().describe().find('\n'), std::string::npos);  // one sentence
    }
  }
}

TEST(NetnsPrivileges, ReadsCapEffFromStatus) {
  EXPECT_EQ(effective_caps_from_status("Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"),
            0x1ffffffffffULL);
  EXPECT_EQ(effective_caps_from_status("CapEff:\t0000000000001000\n"), 1ULL << CAP_NET_ADMIN);
  EXPECT_EQ(effective_caps_from_status("Name:\tx\n"), 0u);
  EXPECT_EQ(effective_caps_from_status("CapEff:\tzz\n"), 0u);
}

TEST(NetnsImpairment, ValidationRefusesWhatCannotBeDone) {
  struct Case {
    LinkImpairment imp;
    const char* error;  // nullptr: valid
  };
  auto with = [](auto f) {
    LinkImpairment i;
    f(i);
    return i;
  };
  const Case cases[] = {
      {LinkImpairment{}, nullptr},
      {with([](auto& i) { i.rate_bits_per_s = 1'000'000'000; }), nullptr},
      {with([](auto& i) { i.loss_percent = 10; }), nullptr},
      {with([](auto& i) { i.drop_every_nth = 10; }), nullptr},
      {with([](auto& i) { i.delay = 20ms; }), "userspace impairment engine"},
      {with([](auto& i) { i.jitter = 5ms; }), "no netem"},
      {with([](auto& i) { i.loss_percent = 101; }), "between 0% and 100%"},
      {with([](auto& i) { i.loss_percent = -1; }), "between 0% and 100%"},
      {with([](auto& i) { i.drop_every_nth = 1; }), "drops everything"},
      {with([](auto& i) { i.rate_bits_per_s = 100; }), "below 8 kbit"},
      {with([](auto& i) { i.rate_bits_per_s = 40'000'000'000ULL; }), "above 17 gbit"},
  };
  for (const auto& c : cases) {
    auto st = validate(c.imp);
    if (!c.error) {
      EXPECT_TRUE(st.ok()) << st.error().describe();
    } else {
      ASSERT_FALSE(st.ok()) << c.error;
      EXPECT_NE(st.error().describe().find(c.error), std::string::npos) << st.error().describe();
    }
  }
}

TEST(NetnsImpairment, NftScriptReplacesTheTableAtomically) {
  LinkImpairment none;
  EXPECT_EQ(nft_loss_script("ist_abc123", "istabc123sut", none),
            "table inet ist_abc123\ndelete table inet ist_abc123\n");

  LinkImpairment loss;
  loss.loss_percent = 10;
  loss.drop_every_nth = 7;
  const std::string s = nft_loss_script("ist_abc123", "istabc123sut", loss);
  for (const char* want : {
           "table inet ist_abc123\ndelete table inet ist_abc123\ntable inet ist_abc123 {",
           "type filter hook prerouting priority -300; policy accept;",
           "type filter hook postrouting priority 300; policy accept;",
           "iifname \"istabc123sut\" numgen random mod 1000000 < 100000 drop",
           "oifname \"istabc123sut\" numgen random mod 1000000 < 100000 drop",
           "iifname \"istabc123sut\" numgen inc mod 7 == 6 drop",
           "oifname \"istabc123sut\" numgen inc mod 7 == 6 drop",
       })
    EXPECT_NE(s.find(want), std::string::npos) << want << "\nin:\n" << s;

  LinkImpairment fine;
  fine.loss_percent = 0.25;
  EXPECT_NE(nft_loss_script("t", "i", fine).find("< 2500 drop"), std::string::npos);
  EXPECT_EQ(nft_loss_script("t", "i", fine).find("numgen inc"), std::string::npos);

  // 100% cannot be a numgen comparison (nft refuses a value equal to the modulus).
  LinkImpairment all;
  all.loss_percent = 100;
  const std::string a = nft_loss_script("t", "i", all);
  EXPECT_NE(a.find("iifname \"i\" drop"), std::string::npos) << a;
  EXPECT_EQ(a.find("numgen"), std::string::npos) << a;
}

TEST(NetnsTopologySpec, ValidationNamesTheProblem) {
  struct Case {
    void (*edit)(TopologySpec&);
    const char* error;
  };
  const Case cases[] = {
      {[](TopologySpec&) {}, nullptr},
      {[](TopologySpec& s) { s.peer_count = AddressPlan::max_peers; }, nullptr},
      {[](TopologySpec& s) { s.peer_count = AddressPlan::max_peers + 1; }, "at most 32767 peers"},
      {[](TopologySpec& s) { s.peer_family = Family::v6, s.peer_count = 131072; }, nullptr},
      {[](TopologySpec& s) { s.peer_family = Family::v6, s.peer_count = 131073; }, "at most 131072 peers"},
      // Dual stack gives every peer an IPv4 address too.
      {[](TopologySpec& s) { s.ipv6 = true, s.peer_count = AddressPlan::max_peers + 1; }, "at most 32767 peers"},
      {[](TopologySpec& s) { s.peers_role = "sut"; }, "different roles"},
      {[](TopologySpec& s) { s.sut_role = "SUT"; }, "a-z, 0-9"},
      {[](TopologySpec& s) { s.sut_role = ""; }, "a-z, 0-9"},
      {[](TopologySpec& s) { s.mtu = 576; }, "MTU"},
      {[](TopologySpec& s) { s.link.delay = std::chrono::milliseconds(1); }, "userspace impairment engine"},
  };
  for (const auto& c : cases) {
    TopologySpec spec;
    c.edit(spec);
    auto st = validate(spec);
    if (!c.error) {
      EXPECT_TRUE(st.ok()) << st.error().describe();
    } else {
      ASSERT_FALSE(st.ok()) << c.error;
      EXPECT_NE(st.error().describe().find(c.error), std::string::npos) << st.error().describe();
    }
  }
}

TEST(NetnsSysctl, KeysMapToProcSys) {
  EXPECT_EQ(sysctl_path("net.ipv4.conf.all.rp_filter"), "/proc/sys/net/ipv4/conf/all/rp_filter");
  EXPECT_EQ(sysctl_path("net.core.rmem_max"), "/proc/sys/net/core/rmem_max");
}

TEST(NetnsSysctl, SkippedKeysMakeOneNote) {
  EXPECT_EQ(skipped_sysctls_note({}), "");
  EXPECT_EQ(skipped_sysctls_note({"net.core.rmem_max", "net.core.wmem_max"}),
            "sysctls not settable here (left as the kernel has them): net.core.rmem_max, net.core.wmem_max");
}

TEST(NetnsNamespace, RolesAreShortLowercaseWords) {
  for (const char* good : {"sut", "peers", "peers2", "a", "abcdefghijklmnop"}) EXPECT_TRUE(is_valid_role(good)) << good;
  for (const char* bad : {"", "Sut", "peer-1", "a b", "../x", "abcdefghijklmnopq"})
    EXPECT_FALSE(is_valid_role(bad)) << bad;
}

}  // namespace
}  // namespace ist::netns
