// 200 peers on one initiator daemon against one SUT, once per authentication method: all
// establish, and the setup rate and the SUT's CPU per setup are recorded (gtest properties
// and stdout). Signatures dominate a gateway's CPU; this is where users see it.
#include <cstdio>

#include "charon_auth_support.hpp"

namespace ist::charon::test {
namespace {

constexpr uint32_t kPeers = 200;

class CharonAuthRate : public TwoNamespaces {
 protected:
  std::size_t peer_count() const override { return kPeers; }
};

TEST_F(CharonAuthRate, TwoHundredPeersEstablishWithEveryMethod) {
  for (AuthKind kind : {AuthKind::psk, AuthKind::ecdsa, AuthKind::rsa, AuthKind::eap_mschapv2}) {
    const std::string tag(to_string(kind));
    SCOPED_TRACE(tag);
    AuthMaterialOptions mo;
    mo.kind = kind;
    mo.peers = kPeers;
    auto m = make_auth_material(mo);
    ASSERT_TRUE(m.ok()) << m.error().describe();

    auto so = options("sut-" + tag, Role::sut);
    so.settings.extra_plugins = auth_extra_plugins(kind);
    so.settings.filelog.default_level = 0;
    auto po = options("peers-" + tag, Role::initiator);
    po.settings.extra_plugins = auth_extra_plugins(kind);
    po.settings.filelog.default_level = 0;
    auto& sut = start(so);
    auto& peers = start(po);
    EventLoop loop;
    auto sut_s = vici::Session::connect(loop, sut.vici_socket());
    auto peer_s = vici::Session::connect(loop, peers.vici_socket());
    ASSERT_TRUE(sut_s.ok() && peer_s.ok());

    ResponderOptions ro;
    ConnSpec responder = sut_responder_conn(ro);
    ASSERT_TRUE(apply_sut_auth(responder, *m).ok());
    if (kind == AuthKind::psk) {
      auto s = to_load_shared({"all", "rate-test-psk", {}});
      ASSERT_TRUE(s.ok());
      must(**sut_s, "load-shared", *s);
      must(**peer_s, "load-shared", *s);
    }
    must_all(**sut_s, sut_credentials(*m));
    must_load_conn(**sut_s, responder);
    must_all(**peer_s, daemon_peer_credentials(*m, 0, 1));
    std::vector<std::string> names;
    for (uint32_t i = 0; i < kPeers; ++i) {
      ConnSpec pc = peer_conn(i);
      ASSERT_TRUE(apply_peer_auth(pc, *m, i).ok());
      must_load_conn(**peer_s, pc);
      names.push_back(pc.name);
    }

    const double cpu0 = sut.usage().value_or(ProcessUsage{}).cpu_s;
    const auto t0 = std::chrono::steady_clock::now();
    auto ev = initiate_all(loop, **peer_s, names, 120s);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = sut.usage().value_or(ProcessUsage{}).cpu_s - cpu0;
    EXPECT_EQ(ev.child_up, static_cast<int>(kPeers));
    const double rate = ev.child_up / secs;
    const double cpu_ms = ev.child_up > 0 ? 1000.0 * cpu / ev.child_up : 0;
    RecordProperty(tag + "_setups_per_s", std::to_string(rate));
    RecordProperty(tag + "_sut_cpu_ms_per_setup", std::to_string(cpu_ms));
    std::printf("auth %-13s %u peers: %d up in %.2f s = %.1f setups/s, SUT CPU %.2f ms/setup, material %.2f s\n",
                tag.c_str(), kPeers, ev.child_up, secs, rate, cpu_ms, m->generate_seconds);
    sut_s->reset();
    peer_s->reset();
    peers.stop();
    sut.stop();
  }
}

}  // namespace
}  // namespace ist::charon::test
