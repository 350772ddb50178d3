// What the guest's SUT charon is configured with (kernel-netlink, vici on TCP, log on the
// guest's tmpfs, the scenario's sut.charon keys) and which ESP algorithms are loaded before
// it starts.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "charon/settings.hpp"
#include "run/vm_sut.hpp"

namespace ist::run {
namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

charon::CharonSettings libipsec_sut_settings() {
  // What run_point hands over: the libipsec SUT's settings (the vm SUT must not keep them).
  charon::CharonSettings s = charon::default_settings(charon::Role::sut, charon::Backend::libipsec);
  s.vici_socket = "/tmp/somewhere/sut.vici";
  s.filelog.path = "/tmp/somewhere/charon.log";
  return s;
}

TEST(VmSutConf, KernelNetlinkTcpViciAndTmpfsLog) {
  auto conf = render_guest_strongswan_conf(libipsec_sut_settings(), kGuestCharonLog, kGuestViciAddress, kGuestViciPort);
  ASSERT_TRUE(conf.ok()) << conf.error().describe();
  EXPECT_TRUE(has(*conf, "kernel-netlink socket-default vici")) << *conf;
  EXPECT_FALSE(has(*conf, "kernel-libipsec")) << *conf;
  EXPECT_TRUE(has(*conf, "socket = tcp://198.18.1.2:4502")) << *conf;
  EXPECT_FALSE(has(*conf, "unix://")) << *conf;
  EXPECT_TRUE(has(*conf, std::string("path = ") + kGuestCharonLog)) << *conf;
  EXPECT_FALSE(has(*conf, "/tmp/somewhere")) << *conf;
  EXPECT_TRUE(has(*conf, "ike_name = yes")) << *conf;  // what the log parser needs
}

TEST(VmSutConf, ScenarioKeysHonoredAndHarnessKeysRefused) {
  struct Case {
    std::string key, value;
    bool accepted;
    std::string rendered;  // a line the conf must hold when accepted
  };
  const std::vector<Case> cases = {
      {"ikesa_limit", "50", true, "ikesa_limit = 50"},
      {"spi_min", "0xc0000000", true, "spi_min = 0xc0000000"},
      {"plugins.kernel-netlink.mtu", "1400", true, "mtu = 1400"},
      {"plugins.vici.socket", "tcp://0.0.0.0:4502", false, ""},
      {"load", "kernel-libipsec", false, ""},
      {"filelog.x.path", "/mnt/9p/log", false, ""},
  };
  for (const auto& c : cases) {
    auto s = libipsec_sut_settings();
    s.user_keys[c.key] = c.value;
    auto conf = render_guest_strongswan_conf(s, kGuestCharonLog, kGuestViciAddress, kGuestViciPort);
    EXPECT_EQ(conf.ok(), c.accepted) << c.key;
    if (conf.ok() && c.accepted) {
      EXPECT_TRUE(has(*conf, c.rendered)) << c.key << "\n" << *conf;
    }
  }
}

TEST(VmSutConf, WarmupLoadsTheProposalsAlgorithms) {
  struct Case {
    std::vector<std::string> proposals;
    std::vector<std::string> present, absent;
  };
  const std::vector<Case> cases = {
      {{"aes128gcm16"}, {"rfc4106(gcm(aes))"}, {"cbc(aes)", "chacha20"}},
      {{"aes256-sha256"}, {"cbc(aes)", "hmac(sha256)"}, {"gcm", "hmac(sha1)"}},
      {{"aes128-sha1", "aes256gcm16"}, {"hmac(sha1)", "rfc4106(gcm(aes))"}, {"hmac(sha256)"}},
      {{"chacha20poly1305"}, {"rfc7539esp(chacha20,poly1305)"}, {"gcm", "cbc"}},
      {{}, {"rfc4106(gcm(aes))", "cbc(aes)", "hmac(sha256)"}, {}},
  };
  for (const auto& c : cases) {
    const std::string script = esp_warmup_script(c.proposals);
    for (const auto& p : c.present) EXPECT_TRUE(has(script, p)) << p << " in\n" << script;
    for (const auto& a : c.absent) EXPECT_FALSE(has(script, a)) << a << " in\n" << script;
    // Each state it adds, it deletes again: charon starts with an empty SAD.
    std::size_t adds = 0, deletes = 0;
    for (std::size_t at = 0; (at = script.find("ip xfrm state add", at)) != std::string::npos; ++at) ++adds;
    for (std::size_t at = 0; (at = script.find("ip xfrm state delete", at)) != std::string::npos; ++at) ++deletes;
    EXPECT_GT(adds, 0u);
    EXPECT_EQ(adds, deletes);
  }
}

}  // namespace
}  // namespace ist::run
