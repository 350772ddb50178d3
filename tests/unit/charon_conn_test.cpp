#include <gtest/gtest.h>

#include "charon/conn_spec.hpp"

namespace ist::charon {
namespace {

using std::chrono::seconds;

ConnSpec peer_conn() {
  ConnSpec c;
  c.name = "peer00001";
  c.local_addrs = {"198.19.0.1"};
  c.remote_addrs = {"198.18.0.1"};
  c.local_id = "peer00001.ikestorm.test";
  c.remote_id = "sut.ikestorm.test";
  c.ike_proposals = {"aes128-sha256-x25519"};
  c.ike = ike_lifetimes_from_rekey(seconds(28800));
  c.local_ts = {"198.19.128.1/32"};
  c.remote_ts = {"198.18.255.0/24"};
  c.esp_proposals = {"aes128gcm16"};
  c.child = child_lifetimes_from_rekey(seconds(300));
  return c;
}

TEST(CharonConn, LoadConnMessageIsExact) {
  auto m = to_load_conn(peer_conn());
  ASSERT_TRUE(m.ok()) << m.error().describe();
  vici::Message want;
  auto& c = want.section("peer00001");
  c.set("version", "2");
  c.list("local_addrs", {"198.19.0.1"});
  c.list("remote_addrs", {"198.18.0.1"});
  c.list("proposals", {"aes128-sha256-x25519"});
  c.set("rekey_time", "28800");
  c.set("reauth_time", "0");
  c.set("over_time", "2880");
  c.set("rand_time", "0");
  c.set("keyingtries", "1");
  c.set("dpd_delay", "0");
  c.set("encap", "no");
  c.set("mobike", "no");
  c.set("unique", "no");
  c.set("send_certreq", "no");
  c.section("local").set("auth", "psk").set("id", "peer00001.ikestorm.test");
  c.section("remote").set("auth", "psk").set("id", "sut.ikestorm.test");
  auto& ch = c.section("children").section("net");
  ch.set("mode", "tunnel");
  ch.list("local_ts", {"198.19.128.1/32"});
  ch.list("remote_ts", {"198.18.255.0/24"});
  ch.list("esp_proposals", {"aes128gcm16"});
  ch.set("rekey_time", "300");
  ch.set("life_time", "330");
  ch.set("rand_time", "0");
  ch.set("start_action", "none");
  ch.set("dpd_action", "clear");
  EXPECT_EQ(*m, want) << m->to_json().dump(2);
}

TEST(CharonConn, OptionalFieldsAppearOnlyWhenSet) {
  auto c = peer_conn();
  c.local_addrs.clear();
  c.ike_proposals.clear();
  c.esp_proposals.clear();
  c.local_id.clear();
  c.local_port = 4500;
  c.encap = true;
  c.start_action = StartAction::trap;
  c.reqid = 7;
  c.unique = UniquePolicy::never;
  auto m = to_load_conn(c);
  ASSERT_TRUE(m.ok());
  const auto* conn = m->find_section("peer00001");
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(conn->find("local_addrs"), nullptr);
  EXPECT_EQ(conn->find("proposals"), nullptr);
  EXPECT_EQ(conn->get("local_port"), "4500");
  EXPECT_EQ(conn->get("encap"), "yes");
  EXPECT_EQ(conn->get("unique"), "never");
  EXPECT_EQ(conn->find_section("local")->find("id"), nullptr);
  EXPECT_EQ(m->get_path("peer00001.children.net.start_action"), "trap");
  EXPECT_EQ(m->get_path("peer00001.children.net.reqid"), "7");
  EXPECT_EQ(m->get_path("peer00001.children.net.esp_proposals"), std::nullopt);
}

TEST(CharonConn, LifetimesFromRekeyFollowTheDesignRule) {
  struct Case {
    long rekey, life, over;
  };
  const Case cases[] = {
      {0, 0, 0}, {1, 2, 1}, {5, 6, 1}, {9, 10, 1}, {10, 11, 1}, {11, 13, 2},
      {300, 330, 30}, {3600, 3960, 360}, {28800, 31680, 2880},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.rekey);
    auto child = child_lifetimes_from_rekey(seconds(c.rekey));
    EXPECT_EQ(child.rekey_time.count(), c.rekey);
    EXPECT_EQ(child.life_time.count(), c.life);
    EXPECT_EQ(child.rand_time.count(), 0);
    auto ike = ike_lifetimes_from_rekey(seconds(c.rekey), seconds(0));
    EXPECT_EQ(ike.over_time.count(), c.over);
    EXPECT_EQ(ike.reauth_time.count(), 0);
    auto conn = peer_conn();
    conn.child = child;
    conn.ike = ike;
    EXPECT_TRUE(validate(conn).ok()) << validate(conn).error().describe();
  }
}

TEST(CharonConn, ValidationRefusesWhatCharonWouldChange) {
  struct Case {
    const char* name;
    void (*apply)(ConnSpec&);
    const char* message_part;
  };
  const Case cases[] = {
      {"bad name", [](ConnSpec& c) { c.name = "a b"; }, "invalid connection name"},
      {"bad child", [](ConnSpec& c) { c.child_name = ""; }, "invalid child name"},
      {"no ts", [](ConnSpec& c) { c.local_ts.clear(); }, "local_ts and remote_ts"},
      {"comma in list", [](ConnSpec& c) { c.remote_addrs = {"a,b"}; }, "separator"},
      {"pubkey", [](ConnSpec& c) { c.local_auth = AuthMethod::pubkey; }, "needs a certificate"},
      {"life <= rekey", [](ConnSpec& c) { c.child.life_time = c.child.rekey_time; }, "life_time must be above"},
      {"child rand", [](ConnSpec& c) { c.child.rand_time = c.child.rekey_time; }, "child rand_time"},
      {"ike over", [](ConnSpec& c) { c.ike.over_time = seconds(0); }, "over_time"},
      {"ike rand", [](ConnSpec& c) { c.ike.rand_time = seconds(28800); }, "ike rand_time"},
      {"negative", [](ConnSpec& c) { c.dpd_delay = seconds(-1); }, "negative"},
      {"id newline", [](ConnSpec& c) { c.local_id = "a\nb"; }, "identity"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto conn = peer_conn();
    c.apply(conn);
    auto r = to_load_conn(conn);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find(c.message_part), std::string::npos) << r.error().describe();
  }
}

TEST(CharonConn, SharedSecretMessage) {
  auto m = to_load_shared({"peers", "s3cret", {"peer1.ikestorm.test", "peer2.ikestorm.test"}});
  ASSERT_TRUE(m.ok());
  vici::Message want;
  want.set("id", "ike-peers").set("type", "IKE").set("data", "s3cret");
  want.list("owners", {"peer1.ikestorm.test", "peer2.ikestorm.test"});
  EXPECT_EQ(*m, want);
  EXPECT_FALSE(to_load_shared({"bad id", "x", {}}).ok());
  EXPECT_FALSE(to_load_shared({"ok", "", {}}).ok());
}

TEST(CharonConn, SutResponderAcceptsEveryPeer) {
  ResponderOptions o;
  o.ike = ike_lifetimes_from_rekey(seconds(28800));
  o.child = child_lifetimes_from_rekey(seconds(3600));
  auto c = sut_responder_conn(o);
  EXPECT_EQ(c.remote_id, "%any");
  EXPECT_EQ(c.remote_addrs, std::vector<std::string>{"198.19.0.0/17"});
  EXPECT_EQ(c.local_addrs, std::vector<std::string>{"198.18.0.1"});
  EXPECT_EQ(c.start_action, StartAction::none);
  EXPECT_FALSE(c.encap);
  EXPECT_TRUE(validate(c).ok());
}

// peers.family: ipv6: the SUT's responder over the IPv6 plan, and host selectors of either family.
TEST(CharonConn, SutResponderOverIpv6) {
  ResponderOptions o;
  o.local_addr = "2001:2::1";
  o.peer_range = "2001:2:0:2::/64";
  o.local_ts = {"2001:2:0:ff::/64"};
  o.remote_ts = {"2001:2:0:3::/64"};
  o.ike = ike_lifetimes_from_rekey(seconds(28800));
  o.child = child_lifetimes_from_rekey(seconds(3600));
  auto c = sut_responder_conn(o);
  EXPECT_TRUE(validate(c).ok());
  auto text = render_swanctl_conf({c}, {});
  ASSERT_TRUE(text.ok()) << text.error().describe();
  for (const char* line : {"local_addrs = 2001:2::1\n", "remote_addrs = 2001:2:0:2::/64\n",
                           "local_ts = 2001:2:0:ff::/64\n", "remote_ts = 2001:2:0:3::/64\n"})
    EXPECT_NE(text->find(line), std::string::npos) << line << *text;
  EXPECT_EQ(host_ts("198.19.128.1"), "198.19.128.1/32");
  EXPECT_EQ(host_ts("2001:2:0:3::1"), "2001:2:0:3::1/128");
}

TEST(CharonConn, SwanctlTextIsExactAndRedactsSecrets) {
  auto c = peer_conn();
  c.ike_proposals = {"aes128-sha256-x25519", "aes256-sha384-ecp384"};
  auto text = render_swanctl_conf({c}, {{"peers", "s3cret", {"peer00001.ikestorm.test"}}});
  ASSERT_TRUE(text.ok()) << text.error().describe();
  EXPECT_EQ(*text,
            "# swanctl.conf equivalent of what ikestorm loaded over vici. Generated.\n"
            "connections {\n"
            "  peer00001 {\n"
            "    version = 2\n"
            "    local_addrs = 198.19.0.1\n"
            "    remote_addrs = 198.18.0.1\n"
            "    proposals = aes128-sha256-x25519, aes256-sha384-ecp384\n"
            "    rekey_time = 28800\n"
            "    reauth_time = 0\n"
            "    over_time = 2880\n"
            "    rand_time = 0\n"
            "    keyingtries = 1\n"
            "    dpd_delay = 0\n"
            "    encap = no\n"
            "    mobike = no\n"
            "    unique = no\n"
            "    send_certreq = no\n"
            "    local {\n"
            "      auth = psk\n"
            "      id = peer00001.ikestorm.test\n"
            "    }\n"
            "    remote {\n"
            "      auth = psk\n"
            "      id = sut.ikestorm.test\n"
            "    }\n"
            "    children {\n"
            "      net {\n"
            "        mode = tunnel\n"
            "        local_ts = 198.19.128.1/32\n"
            "        remote_ts = 198.18.255.0/24\n"
            "        esp_proposals = aes128gcm16\n"
            "        rekey_time = 300\n"
            "        life_time = 330\n"
            "        rand_time = 0\n"
            "        start_action = none\n"
            "        dpd_action = clear\n"
            "      }\n"
            "    }\n"
            "  }\n"
            "}\n"
            "secrets {\n"
            "  ike-peers {\n"
            "    secret = <redacted>\n"
            "    id-0 = peer00001.ikestorm.test\n"
            "  }\n"
            "}\n");
  auto with = render_swanctl_conf({}, {{"k", "a b#c", {}}}, true);
  ASSERT_TRUE(with.ok());
  EXPECT_NE(with->find("secret = \"a b#c\"\n"), std::string::npos) << *with;
}

}  // namespace
}  // namespace ist::charon
