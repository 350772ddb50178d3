#include <gtest/gtest.h>

#include "charon/conf_syntax.hpp"
#include "charon/conf_tree.hpp"
#include "charon/plugins.hpp"
#include "charon/settings.hpp"
#include "charon/tuned_defaults.hpp"

namespace ist::charon {
namespace {

CharonSettings sut_settings() {
  CharonSettings s;
  s.role = Role::sut;
  s.backend = Backend::libipsec;
  s.vici_socket = "/out/run1/sut/charon.vici";
  s.filelog = default_filelog(Role::sut, "/out/run1/sut/charon.log");
  return s;
}

TEST(CharonSettings, SutDefaultsRenderExactly) {
  auto text = render_strongswan_conf(sut_settings());
  ASSERT_TRUE(text.ok()) << text.error().describe();
  EXPECT_EQ(*text,
            "# strongswan.conf for an ikestorm sut charon (libipsec backend). Generated; edits are overwritten.\n"
            "charon {\n"
            "  load_modular = no\n"
            "  load = random nonce openssl kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici\n"
            "  ikesa_table_size = 4096\n"
            "  ikesa_table_segments = 16\n"
            "  reuse_ikesa = no\n"
            "  threads = 32\n"
            "  install_routes = no\n"
            "  cookie_threshold = 0\n"
            "  plugins {\n"
            "    kernel-netlink {\n"
            "      roam_events = no\n"
            "    }\n"
            "    vici {\n"
            "      socket = unix:///out/run1/sut/charon.vici\n"
            "    }\n"
            "  }\n"
            "  filelog {\n"
            "    ikestorm {\n"
            "      path = /out/run1/sut/charon.log\n"
            "      append = no\n"
            "      flush_line = yes\n"
            "      ike_name = yes\n"
            "      time_format = %Y-%m-%dT%H:%M:%S\n"
            "      time_add_ms = yes\n"
            "      default = 1\n"
            "    }\n"
            "  }\n"
            "}\n");
}

TEST(CharonSettings, InitiatorXfrmWithTuningAndUserKeys) {
  CharonSettings s;
  s.role = Role::initiator;
  s.backend = Backend::xfrm;
  s.vici_socket = "/w/i0.vici";
  s.filelog = default_filelog(Role::initiator, "/w/i0.log");
  s.filelog.levels = {{"ike", 2}, {"knl", -1}};
  s.tuning.retransmit_tries = 2;
  s.tuning.retransmit_timeout = 0.5;
  s.tuning.retransmit_base = 1.8;
  s.tuning.spi_min = 0xc0000000;
  s.tuning.spi_max = 0xc000ffff;
  s.tuning.reuse_ikesa = true;  // typed knob overrides the tuned default in place
  s.user_keys = {{"threads", "8"}, {"plugins.kernel-netlink.mtu", "1400"}};
  auto text = render_strongswan_conf(s);
  ASSERT_TRUE(text.ok()) << text.error().describe();
  EXPECT_EQ(*text,
            "# strongswan.conf for an ikestorm initiator charon (xfrm backend). Generated; edits are overwritten.\n"
            "charon {\n"
            "  load_modular = no\n"
            "  load = random nonce openssl kdf pem pkcs1 x509 pubkey kernel-netlink socket-default vici\n"
            "  ikesa_table_size = 4096\n"
            "  ikesa_table_segments = 16\n"
            "  reuse_ikesa = yes\n"
            "  threads = 8\n"
            "  spi_min = 0xc0000000\n"
            "  spi_max = 0xc000ffff\n"
            "  retransmit_tries = 2\n"
            "  retransmit_timeout = 0.5\n"
            "  retransmit_base = 1.8\n"
            "  plugins {\n"
            "    kernel-netlink {\n"
            "      roam_events = no\n"
            "      mtu = 1400\n"
            "    }\n"
            "    vici {\n"
            "      socket = unix:///w/i0.vici\n"
            "    }\n"
            "  }\n"
            "  filelog {\n"
            "    ikestorm {\n"
            "      path = /w/i0.log\n"
            "      append = no\n"
            "      flush_line = yes\n"
            "      ike_name = yes\n"
            "      time_format = %Y-%m-%dT%H:%M:%S\n"
            "      time_add_ms = yes\n"
            "      default = 0\n"
            "      ike = 2\n"
            "      knl = -1\n"
            "    }\n"
            "  }\n"
            "}\n");
}

TEST(CharonSettings, UserKeyReplacesTunedDefaultOnce) {
  auto s = sut_settings();
  s.user_keys = {{"cookie_threshold", "10"}, {"ikesa_limit", "50"}};
  auto tree = charon_settings_tree(s);
  ASSERT_TRUE(tree.ok()) << tree.error().describe();
  EXPECT_EQ(tree->get("cookie_threshold"), "10");
  EXPECT_EQ(tree->get("ikesa_limit"), "50");
  auto text = tree->render();
  EXPECT_EQ(text.find("cookie_threshold"), text.rfind("cookie_threshold"));
}

TEST(CharonSettings, DeterministicRendering) {
  auto a = render_strongswan_conf(sut_settings());
  auto b = render_strongswan_conf(sut_settings());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

struct KeyCase {
  const char* key;
  bool accepted;
  const char* message_part;  // in the error when refused
};

TEST(CharonSettings, HarnessOwnedAndMalformedKeysAreRefused) {
  const KeyCase cases[] = {
      {"ikesa_limit", true, ""},
      {"plugins.kernel-netlink.mtu", true, ""},
      {"plugins.vici.foo", true, ""},
      {"load", false, "set by the harness"},
      {"load_modular", false, "set by the harness"},
      {"plugins.vici.socket", false, "own vici socket"},
      {"plugins.vici", false, "set by the harness"},
      {"filelog", false, "log parser"},
      {"filelog.x.path", false, "log parser"},
      {"charon.threads", false, "drop the leading 'charon.'"},
      {"bad key", false, "invalid setting name"},
      {"a..b", false, "invalid setting name"},
      {"", false, "invalid setting name"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.key);
    auto s = sut_settings();
    s.user_keys = {{c.key, "1"}};
    auto r = render_strongswan_conf(s);
    EXPECT_EQ(r.ok(), c.accepted);
    if (!r.ok()) {
      EXPECT_NE(r.error().describe().find(c.message_part), std::string::npos) << r.error().describe();
    }
  }
}

TEST(CharonSettings, ConflictingUserKeysAreErrors) {
  auto s = sut_settings();
  s.user_keys = {{"plugins.kernel-netlink", "x"}};  // the tuned default made it a section
  auto r = render_strongswan_conf(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("is a section, not a key"), std::string::npos);

  s.user_keys = {{"foo", "1"}, {"foo.bar", "2"}};
  r = render_strongswan_conf(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("runs through key 'foo'"), std::string::npos);

  s.user_keys = {{"x", "a\nb"}};
  EXPECT_FALSE(render_strongswan_conf(s).ok());
}

TEST(CharonSettings, InvalidTuningIsRefused) {
  struct Case {
    const char* name;
    void (*apply)(CharonSettings&);
  };
  const Case cases[] = {
      {"threads", [](CharonSettings& s) { s.tuning.threads = 2; }},
      {"table size", [](CharonSettings& s) { s.tuning.ikesa_table_size = 1000; }},
      {"segments", [](CharonSettings& s) { s.tuning.ikesa_table_segments = 0; }},
      {"spi range", [](CharonSettings& s) { s.tuning.spi_min = 5000, s.tuning.spi_max = 4000; }},
      {"jitter", [](CharonSettings& s) { s.tuning.retransmit_jitter = 101; }},
      {"timeout", [](CharonSettings& s) { s.tuning.retransmit_timeout = -1; }},
      {"log level", [](CharonSettings& s) { s.filelog.default_level = 5; }},
      {"log subsystem", [](CharonSettings& s) { s.filelog.levels["nope"] = 1; }},
      {"no socket", [](CharonSettings& s) { s.vici_socket.clear(); }},
      {"relative socket", [](CharonSettings& s) { s.vici_socket = "x.vici"; }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto s = sut_settings();
    c.apply(s);
    EXPECT_FALSE(render_strongswan_conf(s).ok());
  }
}

TEST(CharonSettings, RoleDefaults) {
  auto sut = default_settings(Role::sut, Backend::xfrm);
  EXPECT_EQ(sut.role, Role::sut);
  EXPECT_EQ(sut.backend, Backend::xfrm);
  EXPECT_EQ(sut.filelog.default_level, 1);
  EXPECT_TRUE(sut.filelog.path.empty());
  auto ini = default_settings(Role::initiator, Backend::libipsec);
  EXPECT_EQ(ini.filelog.default_level, 0);
  EXPECT_TRUE(ini.user_keys.empty());
}

TEST(CharonSettings, EmptyLogPathLogsToStderr) {
  auto s = sut_settings();
  s.filelog.path.clear();
  auto tree = charon_settings_tree(s);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(tree->get("filelog.ikestorm.path"), "stderr");
}

TEST(CharonSettings, TunedDefaultsExplainThemselves) {
  for (const auto& d : tuned_defaults()) {
    SCOPED_TRACE(std::string(d.key));
    EXPECT_FALSE(d.why.empty());
    EXPECT_TRUE(check_user_key(d.key).ok());  // a user can always override a default
  }
  // cookie_threshold is a responder concern only.
  auto s = sut_settings();
  s.role = Role::initiator;
  auto tree = charon_settings_tree(s);
  ASSERT_TRUE(tree.ok());
  EXPECT_FALSE(tree->contains("cookie_threshold"));
  EXPECT_EQ(tree->get("threads"), "32");
}

TEST(CharonPlugins, ListsPerBackendAndExtras) {
  using V = std::vector<std::string>;
  EXPECT_EQ(plugin_list(Backend::xfrm, {}),
            (V{"random", "nonce", "openssl", "kdf", "pem", "pkcs1", "x509", "pubkey",
               "kernel-netlink", "socket-default", "vici"}));
  EXPECT_EQ(plugin_list(Backend::libipsec, auth_plugins(AuthPlugins::pubkey)),
            (V{"random", "nonce", "openssl", "kdf", "pem", "pkcs1", "x509", "pubkey", "pkcs8",
               "constraints", "kernel-libipsec", "kernel-netlink", "socket-default", "vici"}));
  EXPECT_EQ(plugin_list(Backend::xfrm, {"openssl", "eap-identity", "eap-identity"}),
            (V{"random", "nonce", "openssl", "kdf", "pem", "pkcs1", "x509", "pubkey",
               "eap-identity", "kernel-netlink", "socket-default", "vici"}));
  EXPECT_TRUE(auth_plugins(AuthPlugins::psk).empty());
}

TEST(CharonPlugins, MissingPluginsAreNamedWithTheirPackage) {
  auto st = check_plugins_installed({"vici", "eap-mschapv2"}, "/nonexistent-plugin-dir");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("vici, eap-mschapv2 (Debian package libcharon-extauth-plugins)"),
            std::string::npos)
      << st.error().message;
  EXPECT_TRUE(check_plugins_installed({}, "/nonexistent-plugin-dir").ok());
}

TEST(CharonPlugins, ParseBackend) {
  EXPECT_EQ(parse_backend("libipsec").value(), Backend::libipsec);
  EXPECT_EQ(parse_backend("xfrm").value(), Backend::xfrm);
  EXPECT_FALSE(parse_backend("vm").ok());  // the vm backend runs an xfrm charon in a guest
}

TEST(ConfSyntax, QuotesOnlyWhenTheParserWouldMisread) {
  const std::pair<const char*, const char*> cases[] = {
      {"plain", "plain"},
      {"%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S"},
      {"random nonce openssl", "random nonce openssl"},
      {"unix:///a/b.vici", "unix:///a/b.vici"},
      {"", "\"\""},
      {" lead", "\" lead\""},
      {"a#b", "\"a#b\""},
      {"a{b}", "\"a{b}\""},
      {"0sAbC==", "\"0sAbC==\""},
      {"say \"hi\"", "\"say \\\"hi\\\"\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"a,b", "\"a,b\""},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(quote_conf_value(in), out) << in;
}

TEST(ConfTree, KeysBeforeSectionsInInsertionOrder) {
  ConfTree t;
  ASSERT_TRUE(t.set("b.x", "1").ok());
  ASSERT_TRUE(t.set("z", "2").ok());
  ASSERT_TRUE(t.set("a", "3").ok());
  ASSERT_TRUE(t.set("b.y.k", "4").ok());
  ASSERT_TRUE(t.set("z", "5").ok());  // replaced in place
  EXPECT_EQ(t.render(), "z = 5\na = 3\nb {\n  x = 1\n  y {\n    k = 4\n  }\n}\n");
  EXPECT_TRUE(t.contains("b.y"));
  EXPECT_FALSE(t.get("b.y").has_value());
  using E = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(t.entries(), (E{{"z", "5"}, {"a", "3"}, {"b.x", "1"}, {"b.y.k", "4"}}));
  EXPECT_FALSE(t.set("b", "x").ok());
  EXPECT_FALSE(t.set("a.c", "x").ok());
}

}  // namespace
}  // namespace ist::charon
