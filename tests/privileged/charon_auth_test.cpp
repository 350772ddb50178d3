// Certificates made in-process (ecdsa, rsa) and EAP-MSCHAPv2 against a real charon SUT:
// each method establishes IKE and CHILD SAs between two namespaces, and the SUT reports the
// peer's identity as authenticated by that method.
#include "charon_auth_support.hpp"

namespace ist::charon::test {
namespace {

class CharonAuthPrivileged : public TwoNamespaces {
 protected:
  std::size_t peer_count() const override { return 2; }
};

TEST_F(CharonAuthPrivileged, EveryMethodEstablishes) {
  struct Case {
    AuthKind kind;
    const char* sut_log_line;  // what the SUT logs when the peer authenticated
  };
  const Case cases[] = {
      {AuthKind::ecdsa, "authentication of 'peer-1.ikestorm.test' with ECDSA_WITH_SHA256_DER successful"},
      {AuthKind::rsa, "authentication of 'peer-1.ikestorm.test' with RSA_EMSA_PKCS1_SHA2_256 successful"},
      {AuthKind::eap_mschapv2, "EAP method EAP_MSCHAPV2 succeeded"},
  };
  for (const auto& c : cases) {
    const std::string tag(to_string(c.kind));
    SCOPED_TRACE(tag);
    AuthMaterialOptions mo;
    mo.kind = c.kind;
    mo.peers = 2;
    mo.dir = dir_ + "/material-" + tag;
    auto m = make_auth_material(mo);
    ASSERT_TRUE(m.ok()) << m.error().describe();

    auto so = options("sut-" + tag, Role::sut);
    so.settings.extra_plugins = auth_extra_plugins(c.kind);
    auto po = options("peer-" + tag, Role::initiator);
    po.settings.extra_plugins = auth_extra_plugins(c.kind);
    auto& sut = start(so);
    auto& peer = start(po);
    EventLoop loop;
    auto sut_s = vici::Session::connect(loop, sut.vici_socket());
    auto peer_s = vici::Session::connect(loop, peer.vici_socket());
    ASSERT_TRUE(sut_s.ok() && peer_s.ok());

    must_all(**sut_s, sut_credentials(*m));
    ResponderOptions ro;
    ro.ike = ike_lifetimes_from_rekey(3600s);
    ro.child = child_lifetimes_from_rekey(1200s);
    ConnSpec responder = sut_responder_conn(ro);
    ASSERT_TRUE(apply_sut_auth(responder, *m).ok());
    must_load_conn(**sut_s, responder);

    // Only peer 1 runs here: the daemon gets peer 1's credentials alone (daemon 1 of 2).
    must_all(**peer_s, daemon_peer_credentials(*m, 1, 2));
    ConnSpec pc = peer_conn(1);
    ASSERT_TRUE(apply_peer_auth(pc, *m, 1).ok());
    must_load_conn(**peer_s, pc);

    auto ev = initiate_all(loop, **peer_s, {pc.name});
    EXPECT_EQ(ev.ike_up, 1);
    EXPECT_EQ(ev.child_up, 1);
    auto sas = list_sas(**sut_s);
    ASSERT_EQ(sas.size(), 1u);
    EXPECT_EQ(sas[0].get_or("state", ""), "ESTABLISHED");
    EXPECT_EQ(sas[0].get_or("local-id", ""), "sut.ikestorm.test");
    EXPECT_EQ(sas[0].get_or("remote-id", ""), "peer-1.ikestorm.test");
    EXPECT_NE(read_text(sut.log_path()).find(c.sut_log_line), std::string::npos)
        << sut.log_path();
    // The peer verified the SUT's certificate through the CA.
    EXPECT_NE(read_text(peer.log_path()).find("authentication of 'sut.ikestorm.test' with"),
              std::string::npos);
    sut_s->reset();
    peer_s->reset();
    peer.stop();
    sut.stop();
  }
}

// A peer whose certificate was made by another CA is refused: the check is real.
TEST_F(CharonAuthPrivileged, ForeignCaIsRefused) {
  AuthMaterialOptions mo;
  mo.kind = AuthKind::ecdsa;
  mo.peers = 1;
  auto ours = make_auth_material(mo);
  auto theirs = make_auth_material(mo);
  ASSERT_TRUE(ours.ok() && theirs.ok());
  auto so = options("sut", Role::sut);
  so.settings.extra_plugins = auth_extra_plugins(AuthKind::ecdsa);
  auto po = options("peer", Role::initiator);
  po.settings.extra_plugins = auth_extra_plugins(AuthKind::ecdsa);
  auto& sut = start(so);
  auto& peer = start(po);
  EventLoop loop;
  auto sut_s = vici::Session::connect(loop, sut.vici_socket());
  auto peer_s = vici::Session::connect(loop, peer.vici_socket());
  ASSERT_TRUE(sut_s.ok() && peer_s.ok());
  must_all(**sut_s, sut_credentials(*ours));
  ConnSpec responder = sut_responder_conn({});
  ASSERT_TRUE(apply_sut_auth(responder, *ours).ok());
  must_load_conn(**sut_s, responder);
  // The peer trusts our CA (it can verify the SUT) but holds a certificate from theirs.
  auto creds = peer_credentials(*theirs, {0});
  creds[0] = sut_credentials(*ours)[0];
  must_all(**peer_s, creds);
  ConnSpec pc = peer_conn(0);
  ASSERT_TRUE(apply_peer_auth(pc, *theirs, 0).ok());
  must_load_conn(**peer_s, pc);
  auto ev = initiate_all(loop, **peer_s, {pc.name}, 6s);
  EXPECT_EQ(ev.child_up, 0);
  EXPECT_TRUE(list_sas(**sut_s).empty());
  EXPECT_NE(read_text(sut.log_path()).find("no trusted ECDSA public key found for 'peer-0.ikestorm.test'"),
            std::string::npos)
      << sut.log_path();
}

}  // namespace
}  // namespace ist::charon::test
