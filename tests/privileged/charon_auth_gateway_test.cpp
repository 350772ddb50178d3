// The user's own gateway as the SUT: the operator-style config in tests/fixtures/gateway is
// adapted to the topology, a real charon runs it, and a peer derived from its
// `roadwarriors` connection establishes with the gateway's own PSK and proposals.
#include "charon/gateway_config.hpp"
#include "charon_auth_support.hpp"

namespace ist::charon::test {
namespace {

const std::string kFixtures = IST_GATEWAY_FIXTURE_DIR;

class GatewayPrivileged : public TwoNamespaces {
 protected:
  std::size_t peer_count() const override { return 2; }
};

TEST_F(GatewayPrivileged, PeerDerivedFromTheirConnectionEstablishes) {
  GatewayPlan plan;
  plan.sut_address = topo_->sut_ike_address().str();
  plan.sut_subnet = topo_->sut_subnet().str();
  auto a = adapt_gateway({kFixtures + "/strongswan.conf", kFixtures + "/swanctl.conf", ""}, plan);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  ASSERT_EQ(a->derived_from, "roadwarriors");

  auto so = options("gateway", Role::sut);
  so.settings.extra_plugins = a->sut_extra_plugins;
  so.settings.user_keys = a->sut_user_keys;
  auto& sut = start(so);
  auto po = options("peer", Role::initiator);
  auto& peer = start(po);
  EventLoop loop;
  auto sut_s = vici::Session::connect(loop, sut.vici_socket());
  auto peer_s = vici::Session::connect(loop, peer.vici_socket());
  ASSERT_TRUE(sut_s.ok() && peer_s.ok());

  // Their settings reached the daemon (threads = 24 in their strongswan.conf).
  auto stats = (*sut_s)->call("stats", {}, 5s);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->get_path("workers.total"), "24");

  must_all(**sut_s, a->sut_requests);
  auto conns = (*sut_s)->call_stream("list-conns", "list-conn", {}, 5s);
  ASSERT_TRUE(conns.ok());
  EXPECT_EQ(conns->items.size(), 2u) << "roadwarriors and partner-acme";

  ConnSpec pc = gateway_peer_conn(*a, 1, topo_->peer_ike_address(1).str(),
                                  topo_->peer_inner_address(1).str());
  pc.ike = ike_lifetimes_from_rekey(3600s);
  pc.child = child_lifetimes_from_rekey(1200s);
  auto secret = to_load_shared(a->peer_secret);
  ASSERT_TRUE(secret.ok());
  must(**peer_s, "load-shared", *secret);
  must_load_conn(**peer_s, pc);

  auto ev = initiate_all(loop, **peer_s, {pc.name}, 15s, pc.child_name);
  EXPECT_EQ(ev.ike_up, 1);
  EXPECT_EQ(ev.child_up, 1);
  auto sas = list_sas(**sut_s);
  ASSERT_EQ(sas.size(), 1u);
  const auto& sa = sas[0];
  EXPECT_EQ(sa.get_or("state", ""), "ESTABLISHED");
  EXPECT_EQ(sa.get_or("local-id", ""), "vpn.example.org");
  EXPECT_EQ(sa.get_or("remote-id", ""), "peer-1@roadwarrior.example.org");
  // Their first IKE proposal: aes256-sha256-ecp384.
  EXPECT_EQ(sa.get_or("encr-alg", ""), "AES_CBC");
  EXPECT_EQ(sa.get_or("encr-keysize", ""), "256");
  EXPECT_EQ(sa.get_or("dh-group", ""), "ECP_384");
  const auto* children = sa.find_section("child-sas");
  ASSERT_NE(children, nullptr);
  ASSERT_EQ(children->size(), 1u);
  const auto& child = *children->elements()[0].section;
  EXPECT_EQ(child.get_or("name", ""), "corp");
  EXPECT_EQ(child.get_or("encr-alg", ""), "AES_GCM_16");
  // The gateway's connection was found by its name in the SUT log.
  EXPECT_NE(read_text(sut.log_path()).find("<roadwarriors|"), std::string::npos);

  // A peer holding another key is refused by their secret: the PSK really is theirs. It runs
  // in its own daemon (own ports in the shared namespace) that knows only the wrong key.
  auto wo = options("peer-wrong", Role::initiator);
  wo.settings.user_keys["port"] = "20000";
  wo.settings.user_keys["port_nat_t"] = "20001";
  auto& wrong_peer = start(wo);
  auto wrong_s = vici::Session::connect(loop, wrong_peer.vici_socket());
  ASSERT_TRUE(wrong_s.ok());
  ConnSpec bad = gateway_peer_conn(*a, 0, topo_->peer_ike_address(0).str(),
                                   topo_->peer_inner_address(0).str());
  must_load_conn(**wrong_s, bad);
  auto wm = to_load_shared({"wrong", "not their key", {}});
  ASSERT_TRUE(wm.ok());
  must(**wrong_s, "load-shared", *wm);
  auto ev2 = initiate_all(loop, **wrong_s, {bad.name}, 5s, bad.child_name);
  EXPECT_EQ(ev2.child_up, 0);
  EXPECT_EQ(list_sas(**sut_s).size(), 1u);
  EXPECT_NE(read_text(sut.log_path()).find("tried 1 shared key for 'vpn.example.org' - 'peer-0@roadwarrior.example.org', but MAC mismatched"),
            std::string::npos);
}

// A certificate-based gateway config: their certificates are replaced by the harness's
// throwaway CA, and a derived peer (identity from their wildcard remote.id) establishes.
TEST_F(GatewayPrivileged, CertificateGatewayEstablishesWithTheHarnessCa) {
  GatewayPlan plan;
  plan.sut_address = topo_->sut_ike_address().str();
  plan.sut_subnet = topo_->sut_subnet().str();
  auto a = adapt_gateway({"", kFixtures + "/swanctl-certs.conf", ""}, plan);
  ASSERT_TRUE(a.ok()) << a.error().describe();
  auto m = make_auth_material(gateway_material_options(*a, 2, dir_ + "/material"));
  ASSERT_TRUE(m.ok()) << m.error().describe();
  ASSERT_TRUE(apply_gateway_auth(*a, *m).ok());

  auto so = options("gateway", Role::sut);
  so.settings.extra_plugins = a->sut_extra_plugins;
  auto& sut = start(so);
  auto po = options("peer", Role::initiator);
  po.settings.extra_plugins = auth_extra_plugins(a->auth);
  auto& peer = start(po);
  EventLoop loop;
  auto sut_s = vici::Session::connect(loop, sut.vici_socket());
  auto peer_s = vici::Session::connect(loop, peer.vici_socket());
  ASSERT_TRUE(sut_s.ok() && peer_s.ok());
  must_all(**sut_s, a->sut_requests);
  must_all(**peer_s, daemon_peer_credentials(*m, 1, 2));
  ConnSpec pc = gateway_peer_conn(*a, 1, topo_->peer_ike_address(1).str(),
                                  topo_->peer_inner_address(1).str(), &*m);
  must_load_conn(**peer_s, pc);

  auto ev = initiate_all(loop, **peer_s, {pc.name}, 15s, pc.child_name);
  EXPECT_EQ(ev.child_up, 1);
  auto sas = list_sas(**sut_s);
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].get_or("local-id", ""), "vpn.example.org");
  EXPECT_EQ(sas[0].get_or("remote-id", ""), "peer-1.devices.example.org");
  EXPECT_EQ(sas[0].get_or("dh-group", ""), "ECP_384");
  EXPECT_NE(read_text(sut.log_path()).find("authentication of 'peer-1.devices.example.org' with ECDSA"),
            std::string::npos);
}

}  // namespace
}  // namespace ist::charon::test
