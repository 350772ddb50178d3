// The strongSwan settings parser (errors with file:line) and the adaptation of a user's
// gateway config: what is kept, what is rewritten (and said), what is refused.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "charon/conf_parser.hpp"
#include "charon/gateway_config.hpp"

namespace ist::charon {
namespace {

const std::string kFixtures = IST_GATEWAY_FIXTURE_DIR;

TEST(ConfParser, ReadsTheSettingsSyntax) {
  auto r = parse_conf_text(
      "# comment\n"
      "a = 1\n"
      "sec {\n"
      "  key = some value with blanks   # trailing comment\n"
      "  quoted = \"x # not a comment, \\\"q\\\"\"\n"
      "  multi = \"line1\n"
      "line2\"\n"
      "  inner { deep = yes }\n"
      "  empty =\n"
      "}\n"
      "sec {\n"
      "  key = replaced\n"
      "  added = 2\n"
      "}\n",
      "t.conf");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->get("a"), "1");
  const ConfNode* sec = r->child("sec");
  ASSERT_NE(sec, nullptr);
  EXPECT_EQ(sec->get("key"), "replaced");  // merged, the later value wins
  EXPECT_EQ(sec->child("key")->line, 12);
  EXPECT_EQ(sec->get("quoted"), "x # not a comment, \"q\"");
  EXPECT_EQ(sec->get("multi"), "line1\nline2");
  EXPECT_EQ(sec->child("inner")->get("deep"), "yes");
  EXPECT_EQ(sec->get("empty"), "");
  EXPECT_EQ(sec->get("added"), "2");
  EXPECT_EQ(r->children.size(), 2u);
  EXPECT_EQ(split_conf_list(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ConfParser, ErrorsNameFileAndLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"a {\n b = 1\n", "t.conf:1: section 'a' is not closed"},
      {"a = 1\n}\n", "t.conf:2: '}' without an open section"},
      {"x", "t.conf:1: 'x' is followed by nothing"},
      {"x\n", "t.conf:1: expected '=' or '{' after 'x', found 'end of line'"},
      {"a b = 1\n", "t.conf:1: expected '=' or '{' after 'a'"},
      {"\n\ninclude /etc/strongswan.d/*.conf\n", "t.conf:3: 'include' is not supported"},
      {"conn : base {\n}\n", "t.conf:1: section references"},
      {"a = \"open\n\n", "t.conf:1: quoted value is not closed"},
      {"a = \"x\" y\n", "t.conf:1: unexpected 'y' after a quoted value"},
      {"a = 1\na {\n}\n", "t.conf:2: 'a' is a key (line 1) and a section"},
      {"a {\n}\na = 1\n", "t.conf:3: 'a' is a section (line 1) and a key"},
      {"= 1\n", "t.conf:1: expected a name, found '='"},
      {"a = 1\n\x01 = 2\n", "t.conf:2: expected a name, found '\\x01'"},
      {"a = x\0y\n", "t.conf:1: NUL byte"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    std::string text(c.text);
    if (text == "a = x") text = std::string("a = x\0y\n", 8);
    auto r = parse_conf_text(text, "t.conf");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find(c.message), std::string::npos) << r.error().describe();
  }
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "s {\n";
  EXPECT_FALSE(parse_conf_text(deep, "t.conf").ok());
  auto missing = parse_conf_file("/nonexistent/swanctl.conf");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().describe().find("cannot read /nonexistent/swanctl.conf"), std::string::npos);
}

bool has_change(const GatewayAdaptation& a, const std::string& part) {
  for (const auto& c : a.changes)
    if (c.find(part) != std::string::npos) return true;
  return false;
}

const ViciRequest* find_request(const GatewayAdaptation& a, const std::string& cmd, const std::string& name) {
  for (const auto& r : a.sut_requests) {
    if (r.command != cmd) continue;
    if (cmd == "load-conn" && r.body.find_section(name)) return &r;
    if (cmd == "load-shared" && r.body.get_or("id", "") == name) return &r;
    if (cmd == "load-pool" && r.body.find_section(name)) return &r;
  }
  return nullptr;
}

TEST(Gateway, FixtureKeepsTheirSettingsAndSaysWhatChanged) {
  auto a = adapt_gateway({kFixtures + "/strongswan.conf", kFixtures + "/swanctl.conf", ""}, {});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  // strongswan.conf: their tuning kept, harness-owned keys dropped with a note.
  EXPECT_EQ(a->sut_user_keys.at("threads"), "24");
  EXPECT_EQ(a->sut_user_keys.at("cookie_threshold"), "30");
  EXPECT_EQ(a->sut_user_keys.at("plugins.kernel-netlink.fwmark"), "!0x42");
  for (const char* owned : {"load_modular", "plugins.vici.socket", "plugins.kernel-netlink.load",
                            "filelog.charon.path", "syslog.daemon.ike", "start-scripts.creds"}) {
    EXPECT_EQ(a->sut_user_keys.count(owned), 0u) << owned;
    EXPECT_TRUE(has_change(*a, std::string("charon.") + owned + " dropped")) << owned;
  }
  EXPECT_TRUE(has_change(*a, "'libstrongswan' (line 42) ignored"));

  // swanctl.conf: the tested connection first, rewritten where the harness must own it.
  ASSERT_EQ(a->sut_conn_names, (std::vector<std::string>{"roadwarriors", "partner-acme"}));
  const auto* rw = find_request(*a, "load-conn", "roadwarriors");
  ASSERT_NE(rw, nullptr);
  const auto& conn = *rw->body.find_section("roadwarriors");
  EXPECT_EQ(*conn.find_list("local_addrs"), std::vector<std::string>{"198.18.0.1"});
  EXPECT_EQ(*conn.find_list("remote_addrs"), std::vector<std::string>{"%any"});  // kept
  EXPECT_EQ(*conn.find_list("proposals"),
            (std::vector<std::string>{"aes256-sha256-ecp384", "aes256gcm16-prfsha384-ecp384"}));
  EXPECT_EQ(conn.get_or("rekey_time", ""), "4h");
  EXPECT_EQ(conn.find("pools"), nullptr);  // peers.vips is off
  const auto* corp = conn.find_section("children")->find_section("corp");
  EXPECT_EQ(*corp->find_list("local_ts"), std::vector<std::string>{"198.18.255.0/24"});
  EXPECT_EQ(*corp->find_list("remote_ts"), std::vector<std::string>{"198.19.128.0/17"});
  EXPECT_EQ(corp->get_or("start_action", ""), "none");
  EXPECT_EQ(*corp->find_list("esp_proposals"), (std::vector<std::string>{"aes256gcm16", "aes256-sha256"}));
  EXPECT_TRUE(has_change(*a, "swanctl.conf:9: connections.roadwarriors.local_addrs: 203.0.113.10 -> 198.18.0.1"));
  EXPECT_TRUE(has_change(*a, "local_ts: 10.20.0.0/16, 10.30.0.0/16 -> 198.18.255.0/24"));
  EXPECT_TRUE(has_change(*a, "start_action: trap -> none"));
  EXPECT_TRUE(has_change(*a, "swanctl.conf:15: connections.roadwarriors.pools (rw-pool) removed: peers.vips is off"));
  EXPECT_EQ(find_request(*a, "load-pool", "rw-pool"), nullptr);
  // With peers.vips the pool is loaded, in the peers' inner range, sized for them.
  GatewayPlan vips;
  vips.peer_vips = true;
  auto v = adapt_gateway({kFixtures + "/strongswan.conf", kFixtures + "/swanctl.conf", ""}, vips);
  ASSERT_TRUE(v.ok()) << v.error().describe();
  EXPECT_TRUE(has_change(*v, "swanctl.conf:61: pools.rw-pool.addrs: 10.99.0.0/24 -> 198.19.255.252/30"));
  const auto* pool = find_request(*v, "load-pool", "rw-pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->body.find_section("rw-pool")->get_or("addrs", ""), "198.19.255.252/30");
  // Their other connection is loaded as written.
  const auto* acme = find_request(*a, "load-conn", "partner-acme");
  ASSERT_NE(acme, nullptr);
  EXPECT_EQ(*acme->body.find_section("partner-acme")->find_list("remote_addrs"),
            std::vector<std::string>{"198.51.100.77"});
  // Their secrets, with their owners.
  const auto* key = find_request(*a, "load-shared", "ike-roadwarriors");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(key->body.get_or("data", ""), "Thi5 is the road-warrior k3y #1");
  EXPECT_EQ(*key->body.find_list("owners"), std::vector<std::string>{"vpn.example.org"});
  EXPECT_EQ(a->sut_requests.front().command, "load-shared");  // secrets before conns

  // Peers derived from roadwarriors.
  EXPECT_EQ(a->derived_from, "roadwarriors");
  EXPECT_EQ(a->sut_id, "vpn.example.org");
  EXPECT_EQ(a->peer_secret.secret, "Thi5 is the road-warrior k3y #1");
  EXPECT_TRUE(a->peer_secret.owners.empty());
  ConnSpec p = gateway_peer_conn(*a, 7, "198.19.0.8", "198.19.128.8");
  EXPECT_EQ(p.name, "p7");
  EXPECT_EQ(p.local_id, "peer-7@roadwarrior.example.org");
  EXPECT_EQ(p.remote_id, "vpn.example.org");
  EXPECT_EQ(p.remote_addrs, std::vector<std::string>{"198.18.0.1"});
  EXPECT_EQ(p.child_name, "corp");
  EXPECT_EQ(p.local_ts, std::vector<std::string>{"198.19.128.8/32"});
  EXPECT_EQ(p.remote_ts, std::vector<std::string>{"198.18.255.0/24"});
  EXPECT_EQ(p.ike_proposals, (std::vector<std::string>{"aes256-sha256-ecp384", "aes256gcm16-prfsha384-ecp384"}));
  EXPECT_EQ(p.esp_proposals, (std::vector<std::string>{"aes256gcm16", "aes256-sha256"}));
  EXPECT_TRUE(to_load_conn(p).ok());

  // The run folder's copy: what was loaded, the changes, no secrets; and it parses back.
  const std::string text = render_gateway_swanctl_conf(*a);
  EXPECT_NE(text.find("#   swanctl.conf:9: connections.roadwarriors.local_addrs"), std::string::npos) << text;
  EXPECT_NE(text.find("proposals = aes256-sha256-ecp384, aes256gcm16-prfsha384-ecp384"), std::string::npos);
  EXPECT_EQ(text.find("road-warrior k3y"), std::string::npos);
  auto back = parse_conf_text(text, "rendered");
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->child("connections")->child("roadwarriors")->child("children")->child("corp")->get("local_ts"),
            "198.18.255.0/24");
}

TEST(Gateway, CertificateConnectionUsesTheHarnessCa) {
  auto a = adapt_gateway({"", kFixtures + "/swanctl-certs.conf", ""}, {});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->auth, AuthKind::ecdsa);
  EXPECT_EQ(a->sut_extra_plugins, auth_extra_plugins(AuthKind::ecdsa));
  EXPECT_TRUE(has_change(*a, "connections.devices.local.certs (vpn.example.org.pem) (not present) replaced by ikestorm's per-run CA"));
  EXPECT_TRUE(has_change(*a, "connections.devices.remote.cacerts (corp-device-ca.pem) (not present) replaced"));
  EXPECT_EQ(gateway_peer_id(*a, 4), "peer-4.devices.example.org");

  auto m = make_auth_material(gateway_material_options(*a, 2, ""));
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->sut_id, "vpn.example.org");
  EXPECT_EQ(m->peer_ids[1], "peer-1.devices.example.org");
  ASSERT_TRUE(apply_gateway_auth(*a, *m).ok());
  ASSERT_GE(a->sut_requests.size(), 3u);
  EXPECT_EQ(a->sut_requests[0].command, "load-cert");
  EXPECT_EQ(a->sut_requests[1].command, "load-key");
  const auto& conn = *a->sut_requests.back().body.find_section("devices");
  EXPECT_EQ(conn.get_or("send_cert", ""), "always");
  EXPECT_EQ(conn.get_or("send_certreq", ""), "yes");  // theirs, kept
  EXPECT_EQ(*conn.find_section("local")->find_list("certs"), std::vector<std::string>{m->sut_cert.pem});
  EXPECT_EQ(conn.find_section("remote")->find("cacerts"), nullptr);
  EXPECT_EQ(conn.find_section("remote")->get_or("id", ""), "*.devices.example.org");

  ConnSpec p = gateway_peer_conn(*a, 1, "198.19.0.2", "198.19.128.2", &*m);
  EXPECT_EQ(p.local_auth, AuthMethod::pubkey);
  EXPECT_EQ(p.local_id, "peer-1.devices.example.org");
  EXPECT_EQ(p.remote_id, "vpn.example.org");
  ASSERT_TRUE(p.local_cert.has_value());
  EXPECT_EQ(p.local_cert->pem, m->peer_certs[1].pem);
  EXPECT_TRUE(to_load_conn(p).ok());

  // Material for other identities does not fit this gateway.
  AuthMaterialOptions other;
  other.kind = AuthKind::ecdsa;
  auto wrong = make_auth_material(other);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(apply_gateway_auth(*a, *wrong).ok());
}

class GatewayFileCases : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ist-gateway-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  Result<GatewayAdaptation> adapt(const std::string& swanctl, const std::string& conn = "") {
    return adapt_gateway({"", write("swanctl.conf", swanctl), conn}, {});
  }
  std::string dir_;
};

const char* const kMinimal =
    "connections {\n"
    "  gw {\n"
    "    local { auth = psk\n id = gw.example\n }\n"
    "    remote { auth = psk\n }\n"
    "    children { net { local_ts = 198.18.255.0/26\n remote_ts = 0.0.0.0/0\n } }\n"
    "  }\n"
    "}\n"
    "secrets { ike-1 { secret = s3cret\n } }\n";

TEST_F(GatewayFileCases, SelectorsThatFitAreKeptAndIdentitiesFollowRemoteId) {
  auto a = adapt(kMinimal);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  const auto& net = *a->sut_requests.back().body.find_section("gw")->find_section("children")->find_section("net");
  EXPECT_EQ(*net.find_list("local_ts"), std::vector<std::string>{"198.18.255.0/26"});
  EXPECT_EQ(*net.find_list("remote_ts"), std::vector<std::string>{"0.0.0.0/0"});  // holds the peers
  EXPECT_FALSE(has_change(*a, "local_ts"));
  EXPECT_EQ(gateway_peer_id(*a, 3), "peer-3.ikestorm.test");  // remote id %any
  EXPECT_EQ(a->peer_template.remote_ts, std::vector<std::string>{"198.18.255.0/26"});

  std::string one_id = kMinimal;
  one_id.replace(one_id.find("remote { auth = psk"), 19, "remote { auth = psk\n id = branch.example");
  auto b = adapt(one_id);
  ASSERT_TRUE(b.ok()) << b.error().describe();
  EXPECT_EQ(gateway_peer_id(*b, 3), "branch.example");
  EXPECT_EQ(b->peer_template.unique, UniquePolicy::never);
  EXPECT_TRUE(has_change(*b, "all peers use the one identity branch.example"));
}

TEST_F(GatewayFileCases, RefusesWhatItCannotTestWithFileAndLine) {
  struct Case {
    std::string text;
    std::string conn;
    std::string message;
  };
  const std::string m = kMinimal;
  auto with = [&](const std::string& from, const std::string& to) {
    std::string t = m;
    t.replace(t.find(from), from.size(), to);
    return t;
  };
  const Case cases[] = {
      {with("local { auth = psk", "local { auth = pubkey"), "",
       "swanctl.conf:6: connections.gw: local auth pubkey with remote auth psk is not supported"},
      {with("remote { auth = psk\n }", "remote-x { auth = eap-md5\n }"), "",
       "swanctl.conf:6: connections.gw.remote-x.auth = eap-md5: EAP method 'md5' is not supported"},
      {with("remote { auth = psk\n }", "remote { auth = eap-radius\n }"), "",
       "connections.gw.remote.auth = eap-radius: needs a RADIUS server, which ikestorm cannot provide"},
      {with("remote { auth = psk\n }", "remote { auth = psk\n }\n remote-2 { auth = psk\n }"), "",
       "connections.gw.remote-2: a second authentication round is not supported"},
      {with("    remote { auth = psk\n }\n", ""), "", "local auth psk with remote auth pubkey is not supported"},
      {with("  gw {\n", "  gw {\n version = 1\n"), "", "swanctl.conf:3: connections.gw.version = 1: IKEv1"},
      {with("children { net { local_ts = 198.18.255.0/26\n remote_ts = 0.0.0.0/0\n } }", "children { }"), "", "has no children"},
      {with("remote { auth = psk\n }\n    children { net { local_ts = 198.18.255.0/26\n remote_ts = 0.0.0.0/0\n } }\n"
            "  }\n}\nsecrets { ike-1 { secret = s3cret\n } }",
            "remote { auth = psk\n id = branch.example\n }\n    children { net { local_ts = 198.18.255.0/26\n remote_ts = 0.0.0.0/0\n } }\n"
            "  }\n}\nsecrets { ike-1 { secret = s3cret\n id = other.example\n } }"),
       "", "no ike secret in secrets { } matches connection 'gw'"},
      {with("secret = s3cret", "id = x"), "", "secrets.ike-1 has no secret"},
      {m, "roadwarriors", "no connection named 'roadwarriors'"},
      {"secrets { }\n", "", "no connections { ... } to test"},
      {with("  gw {", "  g.w {"), "", "connection name 'g.w' is not usable"},
      {"connections {\n include conns.d/*.conf\n}\n", "", "swanctl.conf:2: 'include' is not supported"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto r = adapt(c.text, c.conn);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().describe().find(c.message), std::string::npos) << r.error().describe();
  }
  auto none = adapt_gateway({"", "", ""}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().describe().find("swanctl_conf is required"), std::string::npos);
}

TEST_F(GatewayFileCases, UntestedCertificateConnectionsAreLeftOutWithANote) {
  std::string text = kMinimal;
  text.replace(text.find("connections {\n"), 14,
               "connections {\n  certs { local { auth = pubkey\n certs = gw.pem\n }\n remote { auth = pubkey\n }\n"
               "  children { c { start_action = start\n } } }\n");
  auto a = adapt(text, "gw");
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->sut_conn_names, std::vector<std::string>{"gw"});
  EXPECT_TRUE(has_change(*a, "connections.certs not loaded"));
}


const char* const kRoadWarriors =
    "connections {\n"
    "  rw {\n"
    "    local_addrs = 192.0.2.1\n"
    "    local { auth = psk\n }\n"
    "    remote { auth = psk\n }\n"
    "    children { net { local_ts = 10.1.0.0/16\n updown = /usr/libexec/ipsec/_updown iptables\n } }\n"
    "  }\n"
    "}\n"
    "secrets {\n"
    "  ike-a { id = 192.0.2.100\n secret = key-a\n }\n"
    "  ike-b { id = 192.0.2.200\n secret = key-b\n }\n"
    "  ike-gw { id = 192.0.2.1\n secret = key-gw\n }\n"
    "}\n";

TEST_F(GatewayFileCases, SecretsKeyedByTheirClientsAreMappedOntoThePeers) {
  auto a = adapt(kRoadWarriors);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  // By address: the peers' range; the peers use their IKE address as identity.
  const auto* key = find_request(*a, "load-shared", "ike-a");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(*key->body.find_list("owners"), std::vector<std::string>{"198.19.0.0/17"});
  EXPECT_EQ(*find_request(*a, "load-shared", "ike-b")->body.find_list("owners"),
            std::vector<std::string>{"192.0.2.200"});  // as written: no peer has it
  EXPECT_EQ(*find_request(*a, "load-shared", "ike-gw")->body.find_list("owners"),
            std::vector<std::string>{"198.18.0.1"});  // their local address is the SUT's
  EXPECT_EQ(a->peer_secret.secret, "key-a");
  EXPECT_TRUE(has_change(*a, "secrets.ike-a: id 192.0.2.100 -> 198.19.0.0/17"));
  ConnSpec p = gateway_peer_conn(*a, 5, "198.19.0.6", "198.19.128.6");
  EXPECT_EQ(p.local_id, "198.19.0.6");
  EXPECT_EQ(p.remote_id, "");  // their local id is their address
  // updown is theirs to run, not the harness's.
  const auto& net = *find_request(*a, "load-conn", "rw")->body.find_section("rw")->find_section("children")->find_section("net");
  EXPECT_EQ(net.find("updown"), nullptr);
  EXPECT_TRUE(has_change(*a, "children.net.updown (/usr/libexec/ipsec/_updown iptables) dropped"));

  // By email or host name: a wildcard, the peers named within it.
  std::string by_email = kRoadWarriors;
  by_email.replace(by_email.find("id = 192.0.2.100"), 16, "id = carol@example.org");
  auto b = adapt(by_email);
  ASSERT_TRUE(b.ok()) << b.error().describe();
  EXPECT_EQ(*find_request(*b, "load-shared", "ike-a")->body.find_list("owners"), std::vector<std::string>{"*@example.org"});
  EXPECT_EQ(gateway_peer_id(*b, 3), "peer-3@example.org");
  EXPECT_EQ(b->peer_secret.secret, "key-a");
}

TEST_F(GatewayFileCases, ThePeersUseTheSecretCharonPicks) {
  // charon ranks the match of the peer's identity first, then its own; the one naming both wins.
  const std::string text =
      "connections { gw { local { auth = psk\n id = hq.example\n } remote { auth = psk\n id = branch.example\n }\n"
      " children { net { local_ts = 10.1.0.0/16\n } } } }\n"
      "secrets {\n"
      " ike-1 { id = hq.example\n secret = only-hq\n }\n"
      " ike-2 { id-a = hq.example\n id-b = branch.example\n secret = both\n }\n"
      " ike-3 { secret = anyone\n }\n"
      "}\n";
  auto a = adapt(text);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->peer_secret.secret, "both");
}

TEST_F(GatewayFileCases, PoolsHoldEveryPeerAndPeersAskForVirtualIps) {
  std::string text = std::string(kMinimal) + "pools { rw_pool { addrs = 10.3.0.0/28\n dns = 10.1.0.53\n } }\n";
  text.replace(text.find("  gw {\n"), 7, "  gw {\n pools = rw_pool\n");
  GatewayPlan plan;
  plan.peers = 1000;
  plan.peer_vips = true;
  auto a = adapt_gateway({"", write("swanctl.conf", text), ""}, plan);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->pool, "198.19.252.0/22");  // 1022 addresses, the top of the inner range
  const auto* pool = find_request(*a, "load-pool", "rw_pool");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(*pool->body.find_section("rw_pool")->find_list("dns"), std::vector<std::string>{"10.1.0.53"});
  ConnSpec p = gateway_peer_conn(*a, 0, "198.19.0.1", "198.19.128.1");
  EXPECT_EQ(p.vips, std::vector<std::string>{"0.0.0.0"});
  EXPECT_EQ(p.local_ts, std::vector<std::string>{"dynamic"});
  auto body = to_load_conn(p);
  ASSERT_TRUE(body.ok()) << body.error().describe();
  EXPECT_EQ(*body->find_section("p0")->find_list("vips"), std::vector<std::string>{"0.0.0.0"});

  // peers.vips without a pool to hand out addresses: refused at their connection.
  auto none = check_gateway_config({"", write("plain.conf", kMinimal), ""}, plan);
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].line, 2);
  EXPECT_NE(none[0].message.find("has no pools, but peers.vips asks for virtual IPs"), std::string::npos);
}

// A target's config (target: with sut.config) is read, not started: its addresses stand,
// its secrets stay keyed as written, and the peers take an identity a secret names.
TEST(Gateway, ATargetsConfigKeepsItsAddressesAndNamesThePeersIdentity) {
  const auto plan = target_gateway_plan("198.18.100.1", "198.19.0.0/17", "198.19.128.0/17", 100, false);
  auto a = adapt_gateway({"", kFixtures + "/rw-psk-fqdn/swanctl.conf", ""}, plan);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_TRUE(a->sut_requests.empty());  // loaded nowhere
  EXPECT_EQ(a->auth, AuthKind::psk);
  const ConnSpec& t = a->peer_template;
  EXPECT_EQ(t.remote_ts, std::vector<std::string>{"10.10.0.0/16"});  // as written, not mapped
  EXPECT_EQ(t.remote_addrs, std::vector<std::string>{"198.18.100.1"});
  EXPECT_EQ(t.remote_id, "vpn.example.org");
  EXPECT_EQ(t.ike_proposals, std::vector<std::string>{"aes128-sha256-x25519"});
  EXPECT_EQ(t.esp_proposals, std::vector<std::string>{"aes128gcm128-x25519"});
  EXPECT_EQ(a->peer_id_pattern, "alice@example.org");  // the gateway knows no peer-{i}@...
  EXPECT_EQ(t.unique, UniquePolicy::never);
  EXPECT_EQ(a->peer_secret.secret, "alice's long pre-shared key");
  EXPECT_EQ(a->ike_proposals_at.line, 20);
  EXPECT_EQ(a->ike_proposals_at.column, 7);

  // net2net-psk: a fixed remote.id, five secrets: charon's pick for (hq, branch).
  auto n = adapt_gateway({"", kFixtures + "/net2net-psk/swanctl.conf", ""}, plan);
  ASSERT_TRUE(n.ok()) << n.error().describe();
  EXPECT_EQ(n->peer_id_pattern, "branch.example.org");
  EXPECT_EQ(n->peer_secret.secret, "0sU2l0ZVRvU2l0ZVNoYXJlZEtleQ==");
  EXPECT_EQ(n->peer_template.remote_ts, std::vector<std::string>{"10.10.0.0/16"});
  EXPECT_TRUE(has_change(*n, "does not hold target.peers 198.19.0.0/17"));  // remote_addrs 192.0.2.2

  // rw-cert: certificates are the peers' to bring; the auth is where the gateway asks for it.
  auto c = adapt_gateway({"", kFixtures + "/rw-cert/swanctl.conf", ""}, plan);
  ASSERT_TRUE(c.ok()) << c.error().describe();
  EXPECT_EQ(c->auth, AuthKind::ecdsa);
  EXPECT_EQ(c->auth_at.line, 11);
  EXPECT_EQ(c->auth_at.column, 10);
  EXPECT_EQ(c->auth_at.message, "connections.roadwarrior.remote.auth = pubkey");
}

TEST(Gateway, SingleProposalDropsPfsFromEsp) {
  EXPECT_EQ(single_proposal({"aes128gcm128-x25519", "aes256gcm16"}, true), "aes128gcm128");
  EXPECT_EQ(single_proposal({"aes128-sha256-modp2048-ke1_mlkem768"}, true), "aes128-sha256");
  EXPECT_EQ(single_proposal({"aes128-sha256-x25519", "aes256-sha384-ecp384"}, false), "aes128-sha256-x25519");
  EXPECT_EQ(single_proposal({}, true), "");
}

TEST(Gateway, CharonSystemdIsReadLikeCharonAndScriptsAreDropped) {
  char tmpl[] = "/tmp/ist-gateway-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/strongswan.conf") << "charon-systemd {\n  threads = 7\n  integrity_test = yes\n"
                                             "  start-scripts {\n    creds = swanctl --load-creds\n  }\n}\n";
  auto a = adapt_gateway({dir + "/strongswan.conf", kFixtures + "/swanctl.conf", ""}, {});
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->sut_user_keys.at("threads"), "7");
  EXPECT_EQ(a->sut_user_keys.count("integrity_test"), 0u);
  EXPECT_EQ(a->sut_user_keys.count("start-scripts.creds"), 0u);
  EXPECT_TRUE(has_change(*a, "strongswan.conf:5: charon-systemd.start-scripts.creds dropped"));
  EXPECT_TRUE(has_change(*a, "charon-systemd.integrity_test dropped"));
}

TEST(Gateway, CheckNamesWhatATestNetworkCannotProvideAtTheirLine) {
  const std::string corpus = kFixtures;
  auto radius = check_gateway_config({corpus + "/rw-eap-md5-id-radius/strongswan.conf",
                                      corpus + "/rw-eap-md5-id-radius/swanctl.conf", ""}, {});
  ASSERT_EQ(radius.size(), 2u);
  EXPECT_EQ(radius[0].file, corpus + "/rw-eap-md5-id-radius/strongswan.conf");
  EXPECT_EQ(radius[0].line, 9);
  EXPECT_NE(radius[0].message.find("needs a RADIUS server (eap-radius)"), std::string::npos) << radius[0].message;
  EXPECT_EQ(radius[1].line, 11);
  EXPECT_NE(radius[1].str().find("swanctl.conf:11: connections.rw-eap.remote.auth = eap-radius"), std::string::npos);

  auto ocsp = check_gateway_config({"", corpus + "/ocsp-revoked/swanctl.conf", ""}, {});
  ASSERT_EQ(ocsp.size(), 2u);
  EXPECT_NE(ocsp[0].message.find("ocsp_uris: needs an OCSP responder"), std::string::npos);
  EXPECT_NE(ocsp[1].message.find("revocation = strict"), std::string::npos);

  auto sql = check_gateway_config({"", corpus + "/ip-pool-db/swanctl.conf", ""}, {});
  ASSERT_EQ(sql.size(), 1u);
  EXPECT_NE(sql[0].message.find("pool 'big_pool' is not defined"), std::string::npos);

  // Parse errors keep their file:line; a config that runs has no problems.
  char tmpl[] = "/tmp/ist-gateway-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string bad = std::string(tmpl) + "/swanctl.conf";
  std::ofstream(bad) << "connections {\n  rw {\n";
  auto parse = check_gateway_config({"", bad, ""}, {});
  std::filesystem::remove_all(tmpl);
  ASSERT_EQ(parse.size(), 1u);
  EXPECT_EQ(parse[0].file, bad);
  EXPECT_GT(parse[0].line, 0);
  EXPECT_TRUE(check_gateway_config({"", corpus + "/rw-cert/swanctl.conf", ""}, {}).empty());
  EXPECT_TRUE(check_gateway_config({corpus + "/ip-pool/strongswan.conf", corpus + "/ip-pool/swanctl.conf", ""},
                                   GatewayPlan{.peers = 200, .peer_vips = true})
                  .empty());
}

TEST(Gateway, EapMschapv2ClientsBehindAGatewayCertificate) {
  auto a = adapt_gateway({"", kFixtures + "/rw-eap-mschapv2-id-rsa/swanctl.conf", ""}, {});
  ASSERT_TRUE(a.ok()) << a.error().describe();
  EXPECT_EQ(a->auth, AuthKind::eap_mschapv2);
  EXPECT_EQ(a->sut_id, "vpn.example.org");
  auto m = make_auth_material(gateway_material_options(*a, 2, ""));
  ASSERT_TRUE(m.ok()) << m.error().describe();
  ASSERT_TRUE(apply_gateway_auth(*a, *m).ok());
  ConnSpec p = gateway_peer_conn(*a, 1, "198.19.0.2", "198.19.128.2", &*m);
  EXPECT_EQ(p.local_auth, AuthMethod::eap_mschapv2);
  EXPECT_TRUE(to_load_conn(p).ok());
}

}  // namespace
}  // namespace ist::charon
