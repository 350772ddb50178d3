#include <gtest/gtest.h>

#include "scenario/effective.hpp"
#include "scenario/load.hpp"
#include "scenario_test_util.hpp"

namespace sc = ist::scenario;
using namespace std::chrono_literals;
using scenario_test::fixture;
using scenario_test::load_yaml;

namespace {

TEST(ScenarioParse, EveryKeyOfTheContract) {
  auto out = sc::load_file(fixture("valid/full.yaml"));
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const sc::Loaded& l = *out.loaded;
  ASSERT_EQ(l.points.size(), 6u);
  const sc::Scenario& s = l.points.front().scenario;

  EXPECT_EQ(s.name, "full-contract");
  EXPECT_EQ(s.description, "every key set");
  EXPECT_EQ(s.backend, sc::Backend::libipsec);
  EXPECT_DOUBLE_EQ(s.time_scale, 60);
  EXPECT_EQ(s.seed, 42u);

  EXPECT_EQ(s.peers.count, 500u);
  EXPECT_EQ(s.peers.engine, sc::Engine::charon);  // native takes PSK only, see native-auth-ecdsa.yaml
  EXPECT_EQ(s.peers.auth, sc::Auth::eap_mschapv2);
  EXPECT_EQ(s.peers.arrival.kind, sc::Arrival::Kind::ramp);
  EXPECT_DOUBLE_EQ(s.peers.arrival.ramp_from_per_s, 10);
  EXPECT_DOUBLE_EQ(s.peers.arrival.ramp_to_per_s, 0.5);
  EXPECT_EQ(s.peers.arrival.ramp_over, 30s);
  EXPECT_EQ(s.peers.ike.proposals,
            (std::vector<std::string>{"aes256-sha384-ecp384", "aes128-sha256-x25519"}));
  EXPECT_EQ(s.peers.ike.rekey_time, 4h);
  EXPECT_EQ(s.peers.ike.rand_time, 10min);
  EXPECT_EQ(s.peers.ike.life_time, std::optional<sc::milliseconds>(5h));
  EXPECT_EQ(s.peers.ike.over_time, std::nullopt);
  EXPECT_EQ(s.peers.ike.reauth_time, 2h);
  EXPECT_EQ(s.peers.child.proposals, std::vector<std::string>{"aes128gcm16"});
  EXPECT_EQ(s.peers.child.rekey_time, 30min);  // first sweep point
  EXPECT_EQ(s.peers.child.rand_time, 20s);
  EXPECT_EQ(s.peers.child.over_time, std::optional<sc::milliseconds>(1min));
  EXPECT_EQ(s.peers.child.life_time, std::nullopt);
  const std::vector<sc::CharonSetting> peer_charon = {
      {"retransmit_tries", "3"}, {"retransmit_timeout", "2"}, {"plugins.kernel-netlink.mtu", "1400"}};
  EXPECT_EQ(s.peers.charon, peer_charon);
  EXPECT_EQ(s.peers.deadline_ike, 10s);
  EXPECT_EQ(s.peers.deadline_child, 500ms);
  EXPECT_EQ(s.peers.daemons, std::optional<unsigned>(3));
  EXPECT_EQ(sc::resolved_daemons(s), 3u);
  EXPECT_TRUE(s.peers.encap);

  const std::vector<sc::CharonSetting> sut_charon = {{"ikesa_limit", "0"},
                                                     {"init_limit_half_open", "0"},
                                                     {"cookie_threshold", "0"},
                                                     {"threads", "32"}};
  EXPECT_EQ(s.sut.charon, sut_charon);
  EXPECT_EQ(s.sut.ike.proposals, std::vector<std::string>{"aes256-sha384-ecp384"});
  EXPECT_EQ(s.sut.ike.rekey_time, 8h);
  EXPECT_EQ(s.sut.ike.over_time, std::optional<sc::milliseconds>(1h));
  EXPECT_TRUE(s.sut.child.proposals.empty());  // accept the peers' proposals
  EXPECT_EQ(s.sut.child.life_time, std::optional<sc::milliseconds>(90min));
  ASSERT_TRUE(s.sut.config.strongswan_conf.has_value());
  EXPECT_EQ(*s.sut.config.strongswan_conf, fixture("valid/gw/strongswan.conf").lexically_normal());
  EXPECT_EQ(*s.sut.config.swanctl_conf, fixture("valid/gw/swanctl.conf").lexically_normal());

  EXPECT_EQ(s.link.rate_bits_per_s, std::optional<std::uint64_t>(1'000'000'000));
  EXPECT_DOUBLE_EQ(s.link.loss, 0.005);

  ASSERT_EQ(s.phases.size(), 5u);
  EXPECT_EQ(s.phases[0].kind, sc::Phase::Kind::connect);
  ASSERT_TRUE(s.phases[0].arrival.has_value());
  EXPECT_EQ(s.phases[0].arrival->kind, sc::Arrival::Kind::burst);
  EXPECT_EQ(s.phases[0].arrival->burst, 100u);
  EXPECT_EQ(s.phases[1].kind, sc::Phase::Kind::hold);
  EXPECT_EQ(s.phases[1].duration, 30min);
  EXPECT_EQ(s.phases[2].kind, sc::Phase::Kind::storm);
  EXPECT_DOUBLE_EQ(s.phases[2].share, 0.5);
  EXPECT_EQ(s.phases[2].within, 1s);
  EXPECT_EQ(s.phases[3].kind, sc::Phase::Kind::churn);
  EXPECT_DOUBLE_EQ(s.phases[3].rate_per_s, 5);
  EXPECT_EQ(s.phases[3].duration, 10min);
  EXPECT_EQ(s.phases[4].kind, sc::Phase::Kind::teardown);
  EXPECT_EQ(s.phases[1].origin.line, 39);

  EXPECT_EQ(l.sweep_axes, (std::vector<std::string>{"peers.child.rekey_time", "sut.charon.ikesa_limit"}));

  ASSERT_EQ(s.expect.size(), 6u);
  EXPECT_FALSE(s.expect_implied);
  EXPECT_EQ(s.expect[0].expr(), "established_ratio >= 0.99");
  EXPECT_EQ(s.expect[1].expr(), "codes.ERROR_IPSEC_IKE_MM_LIMIT == 0");
  EXPECT_EQ(s.expect[2].expr(), "setup_latency_ms.p99 < 2000");
  EXPECT_EQ(s.expect[3].op, sc::CompareOp::gt);
  EXPECT_EQ(s.expect[4].path, "codes.ERROR_IPSEC_IKE_DROP_NO_RESPONSE.attempts");
  EXPECT_EQ(s.expect[5].op, sc::CompareOp::ne);
  EXPECT_EQ(s.expect[5].origin.line, 52);

  // The effective document keeps what the file said (sweep included), typed like YAML.
  EXPECT_EQ(l.document["peers"]["count"], 500);
  EXPECT_EQ(l.document["peers"]["encap"], true);
  EXPECT_EQ(l.document["peers"]["child"]["rekey_time"], "5m");
  EXPECT_EQ(l.document["sweep"]["peers.child.rekey_time"], nlohmann::json({"30m", "5m", "1m"}));
  EXPECT_EQ(l.document["expect"]["established_ratio"], ">= 0.99");
  EXPECT_FALSE(l.points[0].document.contains("sweep"));
}

TEST(ScenarioParse, DefaultsFromTheTable) {
  auto out = sc::load_file(fixture("valid/minimal.yaml"));
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const sc::Scenario& s = out.loaded->points.at(0).scenario;
  EXPECT_EQ(s.name, "minimal");  // from the file name
  EXPECT_EQ(s.description, "");
  EXPECT_EQ(s.backend, sc::Backend::auto_select);
  EXPECT_DOUBLE_EQ(s.time_scale, 1);
  EXPECT_EQ(s.seed, 1u);
  EXPECT_EQ(s.peers.count, 10u);
  EXPECT_EQ(s.peers.engine, sc::Engine::charon);
  EXPECT_EQ(s.peers.auth, sc::Auth::psk);
  EXPECT_EQ(s.peers.arrival.kind, sc::Arrival::Kind::rate);
  EXPECT_DOUBLE_EQ(s.peers.arrival.rate_per_s, 500);
  EXPECT_EQ(s.peers.ike.proposals, std::vector<std::string>{"aes128-sha256-x25519"});
  EXPECT_EQ(s.peers.ike.rekey_time, 8h);
  EXPECT_EQ(s.peers.child.proposals, std::vector<std::string>{"aes128gcm16"});
  EXPECT_EQ(s.peers.child.rekey_time, 1h);
  EXPECT_EQ(s.peers.deadline_ike, 10s);
  EXPECT_EQ(s.peers.deadline_child, 5s);
  EXPECT_EQ(s.peers.daemons, std::nullopt);
  EXPECT_GE(sc::resolved_daemons(s), 1u);
  EXPECT_FALSE(s.peers.encap);
  EXPECT_TRUE(s.sut.charon.empty());
  EXPECT_EQ(s.sut.ike.rekey_time, 8h);
  EXPECT_EQ(s.sut.child.rekey_time, 1h);
  EXPECT_FALSE(s.sut.config.strongswan_conf.has_value());
  EXPECT_FALSE(s.link.rate_bits_per_s.has_value());
  EXPECT_DOUBLE_EQ(s.link.loss, 0);
  ASSERT_EQ(s.phases.size(), 3u);
  EXPECT_EQ(s.phases[1].duration, 10s);
  ASSERT_EQ(s.expect.size(), 1u);
  EXPECT_TRUE(s.expect_implied);
  EXPECT_EQ(s.expect[0].expr(), "established_ratio >= 1");
  EXPECT_TRUE(out.loaded->points[0].parameters.empty());
}

TEST(ScenarioParse, BuiltInDefaultScenario) {
  const sc::Scenario s = sc::default_scenario();
  EXPECT_EQ(s.name, "default");
  EXPECT_EQ(s.peers.count, 1000u);
  EXPECT_EQ(s.peers.auth, sc::Auth::psk);
  EXPECT_DOUBLE_EQ(s.peers.arrival.rate_per_s, 500);
  ASSERT_EQ(s.phases.size(), 3u);
  EXPECT_EQ(s.phases[0].kind, sc::Phase::Kind::connect);
  EXPECT_EQ(s.phases[1].kind, sc::Phase::Kind::hold);
  EXPECT_EQ(s.phases[1].duration, 10s);
  EXPECT_EQ(s.phases[2].kind, sc::Phase::Kind::teardown);
  EXPECT_EQ(s.peers.ike.rekey_time, 8h);
  EXPECT_EQ(s.peers.child.rekey_time, 1h);
  ASSERT_EQ(s.expect.size(), 1u);
  EXPECT_EQ(s.expect[0].expr(), "established_ratio >= 1");

  auto with_peers = sc::load_default({sc::peers_override("20")});
  ASSERT_TRUE(with_peers.ok()) << with_peers.diagnostics.str();
  EXPECT_EQ(with_peers.loaded->points[0].scenario.peers.count, 20u);
  EXPECT_EQ(with_peers.loaded->document["peers"]["count"], 20);
}

TEST(ScenarioParse, ShippedScenariosValidate) {
  const char* names[] = {"smoke", "limits", "lifetime-sweep", "login-storm", "rekey-collision"};
  for (const char* n : names) {
    auto out = sc::load_file(scenario_test::source_dir() / "scenarios" / (std::string(n) + ".yaml"));
    ASSERT_TRUE(out.ok()) << n << ":\n" << out.diagnostics.str();
    const auto& s = out.loaded->points.at(0).scenario;
    EXPECT_EQ(s.name, n);
    EXPECT_GT(s.description.size(), 80u) << n << " needs a description a user can read";
    EXPECT_FALSE(s.expect_implied) << n << " states its expectations";
  }
  auto smoke = sc::load_file(scenario_test::source_dir() / "scenarios/smoke.yaml");
  EXPECT_EQ(smoke.loaded->points[0].scenario.peers.count, 50u);

  // lifetime-sweep: 500 peers; child rekey 30m and 5m reach charon as 30 s and 5 s.
  auto sweep = sc::load_file(scenario_test::source_dir() / "scenarios/lifetime-sweep.yaml");
  ASSERT_EQ(sweep.loaded->points.size(), 2u);
  const auto& p0 = sweep.loaded->points[0];
  const auto& p1 = sweep.loaded->points[1];
  EXPECT_EQ(p0.scenario.peers.count, 500u);
  EXPECT_EQ(p0.parameters.at("peers.child.rekey_time"), "30m");
  EXPECT_EQ(p1.parameters.at("peers.child.rekey_time"), "5m");
  EXPECT_EQ(sc::effective(p0.scenario).peers_child.rekey_s, 30);
  EXPECT_EQ(sc::effective(p1.scenario).peers_child.rekey_s, 5);
  const auto hold = sc::effective(p0.scenario).phase_durations.at(1);
  EXPECT_GE(hold, 60s);
  EXPECT_LE(hold, 120s);

  // limits: the SUT's IKE_SA limit is below the peer count and the expectation names it.
  auto limits = sc::load_file(scenario_test::source_dir() / "scenarios/limits.yaml");
  const auto& ls = limits.loaded->points[0].scenario;
  std::uint64_t limit = 0;
  for (const auto& kv : ls.sut.charon) {
    if (kv.key == "ikesa_limit") limit = std::stoull(kv.value);
  }
  ASSERT_GT(limit, 0u);
  EXPECT_LT(limit, ls.peers.count);
  EXPECT_EQ(ls.expect[0].expr(), "established == " + std::to_string(limit));

  // rekey-collision: both sides rekey CHILD_SAs on the same schedule.
  auto rc = sc::load_file(scenario_test::source_dir() / "scenarios/rekey-collision.yaml");
  const auto e = sc::effective(rc.loaded->points[0].scenario);
  EXPECT_EQ(e.peers_child, e.sut_child);
}

TEST(ScenarioParse, FlowShorthandsAndScalarPhases) {
  auto out = load_yaml("phases: [connect, {hold: {duration: 1m}}, teardown]\n"
                       "peers: { arrival: { burst: 50 }, child: { proposals: aes256gcm16 } }\n"
                       "expect: {}\n");
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const auto& s = out.loaded->points[0].scenario;
  ASSERT_EQ(s.phases.size(), 3u);
  EXPECT_EQ(s.phases[1].duration, 1min);
  EXPECT_EQ(s.peers.arrival.kind, sc::Arrival::Kind::burst);
  EXPECT_TRUE(s.expect.empty());  // an explicit empty block means: expect nothing
  EXPECT_FALSE(s.expect_implied);
}

}  // namespace
