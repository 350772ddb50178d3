// target: and the peers' credentials (validate/target.cpp), and one generator's share of a
// target run (scenario/generator.hpp).
#include <gtest/gtest.h>

#include "scenario/generator.hpp"
#include "scenario_test_util.hpp"

using namespace ist::scenario;
using scenario_test::load_yaml;

namespace {

const char* kTarget = R"(peers:
  count: 1000
  psk_file: gw/gw.psk
  id: "peer-{i}@example.org"
  remote_id: gw.example.org
  remote_ts: [198.18.200.0/24]
target:
  address: 198.18.100.1
  interface: eth1
  local: 198.18.100.50/24
  peers: 198.19.0.0/17
  inner: 198.19.128.0/17
  vici: tcp://198.18.100.1:4502
)";

// The problems of a load, one per line (the run-path refusal of before the target SUT is
// gone: ReadsEveryKeyAsTypedSettings shows a target loads clean).
std::string problems(const LoadOutcome& out) {
  std::string s;
  for (const auto& d : out.diagnostics.items())
    if (d.message.find("not runnable yet") == std::string::npos) s += d.message + "\n";
  return s;
}

}  // namespace

TEST(ScenarioTarget, ReadsEveryKeyAsTypedSettings) {
  auto out = load_yaml(kTarget);
  ASSERT_EQ(problems(out), "");
}

// An expectation on a figure a target run never reads would judge a 0: refused where it
// is written, so the verdict can fail.
TEST(ScenarioTarget, ExpectationsOnWhatIsNotObservedAreRefused) {
  const std::string gated = std::string(kTarget) + "expect:\n  cpu_s.sut: \"< 50\"\n  sut_peak.half_open: \"< 10\"\n";
  auto with_vici = load_yaml(gated);
  const std::string p = problems(with_vici);
  EXPECT_NE(p.find("expect: cpu_s.sut is not observed with target:"), std::string::npos) << p;
  EXPECT_EQ(p.find("sut_peak.half_open"), std::string::npos) << p;  // vici reads it
  ASSERT_FALSE(with_vici.diagnostics.items().empty());
  EXPECT_EQ(with_vici.diagnostics.items().front().origin.line, 15u);
  std::string no_vici = gated;
  const std::string vici_line = "  vici: tcp://198.18.100.1:4502\n";
  no_vici.erase(no_vici.find(vici_line), vici_line.size());
  const std::string q = problems(load_yaml(no_vici));
  EXPECT_NE(q.find("expect: sut_peak.half_open needs target.vici"), std::string::npos) << q;
  auto ok = load_yaml(std::string(kTarget) + "expect:\n  established_ratio: \">= 1\"\n  cpu_s.peers: \"< 50\"\n");
  EXPECT_EQ(problems(ok), "");
  auto local = load_yaml("peers: {count: 10}\nexpect:\n  cpu_s.sut: \"< 50\"\n");  // the harness's own SUT
  EXPECT_TRUE(local.ok()) << local.diagnostics.str();
}

// Time to first packet needs traffic, DoS resilience a flood: refused where written without.
TEST(ScenarioTarget, FirstPacketAndDosResilienceGatesNeedWhatTheyMeasure) {
  const std::string native = "peers: {count: 10, engine: native}\n";
  auto without = load_yaml(native + "expect:\n  time_to_first_packet_ms.p99: \"< 50\"\n"
                                    "  dos_resilience.ratio: \"> 0.5\"\n");
  const std::string q = problems(without);
  EXPECT_NE(q.find("expect: time_to_first_packet_ms.p99 needs traffic:"), std::string::npos) << q;
  EXPECT_NE(q.find("expect: dos_resilience.ratio needs peers.flood"), std::string::npos) << q;
  std::vector<unsigned> lines;  // where each is written
  for (const auto& d : without.diagnostics.items()) lines.push_back(d.origin.line);
  EXPECT_EQ(lines, (std::vector<unsigned>{3, 4}));
  auto with = load_yaml("peers:\n  count: 10\n  engine: native\n"
                        "  flood: [{kind: half_open, rate: 10/s, duration: 1s, start: 1s}]\n"
                        "traffic: {rate: 5/s}\nexpect:\n  time_to_first_packet_ms.p99: \"< 50\"\n"
                        "  dos_resilience.ratio: \"> 0.5\"\n");
  EXPECT_TRUE(with.ok()) << with.diagnostics.str();
}

TEST(ScenarioTarget, RunsWithAGentleDefaultArrivalUnlessOneIsWritten) {
  auto out = load_yaml(kTarget);
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const Scenario& s = out.loaded->points.front().scenario;
  EXPECT_EQ(s.peers.arrival.kind, Arrival::Kind::rate);
  EXPECT_DOUBLE_EQ(s.peers.arrival.rate_per_s, kTargetDefaultArrivalPerS);
  auto written = load_yaml(std::string(kTarget) + "\n" + "phases: [{connect: {}}]\n");
  ASSERT_TRUE(written.ok()) << written.diagnostics.str();
  std::string text = kTarget;
  text.replace(text.find("  count: 1000\n"), 14, "  count: 1000\n  arrival: {rate: 700/s}\n");
  auto fast = load_yaml(text);
  ASSERT_TRUE(fast.ok()) << fast.diagnostics.str();
  EXPECT_DOUBLE_EQ(fast.loaded->points.front().scenario.peers.arrival.rate_per_s, 700);
  auto local = load_yaml("peers: {count: 10}\n");
  ASSERT_TRUE(local.ok());
  EXPECT_DOUBLE_EQ(local.loaded->points.front().scenario.peers.arrival.rate_per_s, 500);  // no target: as before
}

TEST(ScenarioTarget, ACaThatIsNoPemCaIsRefused) {
  std::string certs = kTarget;
  certs.replace(certs.find("  psk_file: gw/gw.psk\n"), 22, "  auth: ecdsa\n  ca_cert: gw/gw.psk\n  ca_key: gw/gw.psk\n");
  const std::string p = problems(load_yaml(certs));
  // Certificates from peers.ca_cert are issued by the run; a file that is no PEM CA is refused.
  EXPECT_NE(p.find("/gw/gw.psk: no PEM certificate in it"), std::string::npos) << p;
  EXPECT_NE(p.find("/gw/gw.psk: no unencrypted PEM private key in it"), std::string::npos) << p;
}

TEST(ScenarioTarget, SutConfigIsReadForThePeersAndWhatTheEngineCannotTakeIsRefusedAtItsLine) {
  const std::string gw = "../../gateway/";
  std::string text = kTarget;
  text.replace(text.find("  psk_file: gw/gw.psk\n"), 22, "");
  auto psk = load_yaml(text + "sut:\n  config: {swanctl_conf: " + gw + "rw-psk-fqdn/swanctl.conf}\n");
  EXPECT_EQ(problems(psk), "");  // its PSK stands in for peers.psk_file
  text.replace(text.find("  count: 1000\n"), 14, "  count: 1000\n  engine: native\n");
  auto cert = load_yaml(text + "sut:\n  config: {swanctl_conf: " + gw + "rw-cert/swanctl.conf}\n");
  ASSERT_FALSE(cert.ok());
  const auto& d = cert.diagnostics.items().front();
  EXPECT_EQ(d.origin.line, 11);
  EXPECT_EQ(d.origin.column, 10);
  EXPECT_NE(d.message.find("remote.auth = pubkey: the native engine authenticates with a PSK only"), std::string::npos)
      << d.message;
}

TEST(ScenarioTarget, FileProblemsHaveTheirPlace) {
  auto out = load_yaml(R"(peers:
  count: 300
  remote_ts: [198.18.200.0/33]
target:
  address: 198.18.100.1
  interface: "eth/1"
  local: 198.18.100.1/24
  peers: 198.19.0.0/24
  vici: tcp://198.18.100.2:4502
sut:
  charon: {threads: 4}
)");
  const std::string p = problems(out);
  EXPECT_NE(p.find("peers.remote_ts[0]: expected an IPv4 prefix"), std::string::npos) << p;
  EXPECT_NE(p.find("target.interface: expected a network interface name"), std::string::npos) << p;
  EXPECT_NE(p.find("target.vici: expected tcp://ADDRESS:PORT"), std::string::npos) << p;
  EXPECT_NE(p.find("target.local: expected an unused address on the gateway's network, got "
                   "'198.18.100.1/24': it is target.address"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("300 peers need more than the 254 addresses of /24"), std::string::npos) << p;
  EXPECT_NE(p.find("sut.charon: not with target:"), std::string::npos) << p;
  EXPECT_NE(p.find("peers.psk_file: needed with target:"), std::string::npos) << p;
  for (const auto& d : out.diagnostics.items()) EXPECT_GT(d.origin.line, 0) << d.message;
}

TEST(ScenarioTarget, MissingKeysAndCredentialsWithoutTarget) {
  auto out = load_yaml("target: {address: 198.18.100.1}\n");
  const std::string p = problems(out);
  for (const char* key : {"'interface'", "'local'", "'peers'"})
    EXPECT_NE(p.find(std::string("target: missing ") + key), std::string::npos) << p;
  auto creds = load_yaml("peers: {psk_file: gw/gw.psk, remote_id: gw}\n");
  ASSERT_FALSE(creds.ok());
  EXPECT_NE(creds.diagnostics.str().find("peers.psk_file: needs target:"), std::string::npos);
  EXPECT_NE(creds.diagnostics.str().find("peers.remote_id: needs target:"), std::string::npos);
}

TEST(ScenarioTarget, PrefixOverlapsAreRefused) {
  const std::string head = "peers: {count: 10, psk_file: gw/gw.psk}\ntarget: {interface: eth1, ";
  auto holds = problems(load_yaml(head + "address: 198.19.0.9, local: 198.18.100.50/24, peers: 198.19.0.0/17}\n"));
  EXPECT_NE(holds.find("target.peers: expected a prefix away from the gateway, got '198.19.0.0/17': it holds "
                       "target.address"),
            std::string::npos)
      << holds;
  auto lan = problems(load_yaml(head + "address: 198.18.100.1, local: 198.18.100.50/24, peers: 198.19.0.0/17, "
                                       "inner: 198.18.100.128/25}\n"));
  EXPECT_NE(lan.find("target.inner: expected a prefix away from the gateway's network"), std::string::npos) << lan;
  auto both = problems(load_yaml(head + "address: 198.18.100.1, local: 198.18.100.50/24, peers: 198.19.0.0/17, "
                                        "inner: 198.19.64.0/18}\n"));
  EXPECT_NE(both.find("target.inner: expected a prefix apart from target.peers"), std::string::npos) << both;
}

const char* kTargetV6 = R"(peers:
  family: ipv6
  count: 1000
  psk_file: gw/gw.psk
  remote_ts: [2001:2:200::/64]
target:
  address: 2001:2:100::1
  interface: eth1
  local: 2001:2:100::50/64
  peers: 2001:2:4000::/64
  inner: 2001:2:4001::/64
  vici: tcp://[2001:2:100::1]:4502
)";

TEST(ScenarioTarget, Ipv6TargetsTakePeersFamilyIpv6) {
  auto out = load_yaml(kTargetV6);
  ASSERT_EQ(problems(out), "");
  const Scenario& sc = out.loaded->points.front().scenario;
  const Target& t = *sc.target;
  EXPECT_EQ(t.address, "2001:2:100::1");
  EXPECT_EQ(t.local, "2001:2:100::50/64");
  EXPECT_EQ(t.peers, "2001:2:4000::/64");
  EXPECT_EQ(*t.inner, "2001:2:4001::/64");
  EXPECT_EQ(*t.vici_host, "2001:2:100::1");
  EXPECT_EQ(t.vici_port, 4502);
  EXPECT_EQ(sc.peers.credentials.remote_ts, std::vector<std::string>{"2001:2:200::/64"});
}

TEST(ScenarioTarget, AMixOfFamiliesIsRefusedAtEachKeyOfTheOtherFamily) {
  std::string text = kTargetV6;
  text.replace(text.find("  inner: 2001:2:4001::/64"), 25, "  inner: 198.19.128.0/17");
  auto mixed = load_yaml(text);
  std::string p = problems(mixed);
  EXPECT_NE(p.find("target.inner: expected an IPv6 prefix like 2001:2:4000::/64, got '198.19.128.0/17': it is IPv4 "
                   "and peers.family is ipv6"),
            std::string::npos) << p;
  for (const auto& d : mixed.diagnostics.items()) EXPECT_EQ(d.origin.line, 11) << d.message;
  // Without peers.family: ipv6 the IPv6 addresses are the odd ones, each at its key.
  text = kTargetV6;
  text.replace(text.find("  family: ipv6\n"), 15, "");
  p = problems(load_yaml(text));
  EXPECT_NE(p.find("target.address: expected an IPv4 address like 198.18.100.1, got '2001:2:100::1': it is IPv6 and "
                   "peers.family is ipv4 (a target's addresses are all of one family; write peers.family: ipv6"),
            std::string::npos) << p;
  for (const char* key : {"target.local", "target.peers", "target.inner", "peers.remote_ts[0]"})
    EXPECT_NE(p.find(std::string(key) + ": expected an IPv4"), std::string::npos) << key << "\n" << p;
  // An IPv6 vici address is bracketed; one without brackets is refused.
  text = kTargetV6;
  text.replace(text.find("tcp://[2001:2:100::1]:4502"), 26, "tcp://2001:2:100::1:4502");
  p = problems(load_yaml(text));
  EXPECT_NE(p.find("target.vici: expected tcp://[ADDRESS]:PORT"), std::string::npos) << p;
}

TEST(ScenarioTarget, Ipv6PrefixesAreJudgedAsIpv4Ones) {
  std::string text = kTargetV6;
  text.replace(text.find("  peers: 2001:2:4000::/64"), 25, "  peers: 2001:2:100::/64");
  std::string p = problems(load_yaml(text));
  EXPECT_NE(p.find("target.peers: expected a prefix away from the gateway, got '2001:2:100::/64': it holds "
                   "target.address"),
            std::string::npos) << p;
  text = kTargetV6;
  text.replace(text.find("  peers: 2001:2:4000::/64"), 25, "  peers: 2001:2:4000::/119");
  p = problems(load_yaml(text));
  EXPECT_NE(p.find("1000 peers need more than the 511 addresses of /119"), std::string::npos) << p;
  text = kTargetV6;
  text.replace(text.find("  local: 2001:2:100::50/64"), 26, "  local: 2001:2:100::50/128");
  p = problems(load_yaml(text));
  EXPECT_NE(p.find("target.local: expected an address with its network's prefix length (/16 .. /127)"),
            std::string::npos) << p;
}

TEST(Generator, ParsesSlotsAndRefusesOthers) {
  auto g = parse_generator("2/4");
  ASSERT_TRUE(g);
  EXPECT_EQ(*g, (GeneratorSlot{2, 4}));
  for (const char* bad : {"0/4", "5/4", "1/0", "1", "a/b", "1/4x", "", "/", "1/2000"})
    EXPECT_FALSE(parse_generator(bad)) << bad;
}

TEST(Generator, PrefixPartsAreEqualAndInOrder) {
  EXPECT_EQ(*prefix_part("198.19.0.0/17", 1, 0), "198.19.0.0/18");
  EXPECT_EQ(*prefix_part("198.19.0.0/17", 1, 1), "198.19.64.0/18");
  EXPECT_EQ(*prefix_part("198.19.0.0/17", 2, 3), "198.19.96.0/19");
  EXPECT_EQ(*prefix_part("198.19.5.7/17", 0, 0), "198.19.0.0/17");  // host bits dropped
  EXPECT_FALSE(prefix_part("198.19.0.0/31", 2, 0));
  EXPECT_EQ(*prefix_part("2001:2:4000::/64", 1, 1), "2001:2:4000:0:8000::/65");
  EXPECT_EQ(*prefix_part("2001:2:4000::/64", 2, 2), "2001:2:4000:0:8000::/66");
  EXPECT_EQ(*prefix_part("2001:2:4000::5/64", 0, 0), "2001:2:4000::/64");
  EXPECT_FALSE(prefix_part("2001:2:4000::/127", 2, 0));
  EXPECT_FALSE(prefix_part("198.19.0.0/17", 1, 2));
}

TEST(Generator, EachGeneratorDrivesItsBlockFromItsPrefixAtItsShareOfTheRate) {
  auto out = load_yaml(std::string(kTarget) + "phases: [connect, {churn: {rate: 30/s, duration: 10s}}, teardown]\n");
  ASSERT_EQ(problems(out), "");
  // The load refuses target: until it is runnable; build the scenario the validator read.
  Scenario s;
  s.peers.count = 1000;
  s.peers.arrival.rate_per_s = 300;
  s.target = Target{"198.18.100.1", "eth1", "198.18.100.50/24", "198.19.0.0/17", "198.19.128.0/17", {}, 0, {}};
  Phase churn;
  churn.kind = Phase::Kind::churn;
  churn.rate_per_s = 30;
  s.phases = {churn};
  std::uint64_t total = 0;
  for (std::uint32_t i = 1; i <= 3; ++i) {
    auto share = generator_share(s, GeneratorSlot{i, 3});
    ASSERT_TRUE(share) << share.error().describe();
    EXPECT_EQ(share->peers.first_index, (i - 1) * 334u);
    EXPECT_EQ(share->peers.count, i < 3 ? 334u : 332u);
    EXPECT_DOUBLE_EQ(share->peers.arrival.rate_per_s, 100);
    EXPECT_DOUBLE_EQ(share->phases[0].rate_per_s, 10);
    total += share->peers.count;
  }
  EXPECT_EQ(total, 1000u);
  // Three generators cut the prefixes in four: one route per generator on the gateway.
  EXPECT_EQ(generator_share(s, {3, 3})->target->peers, "198.19.64.0/19");
  EXPECT_EQ(*generator_share(s, {3, 3})->target->inner, "198.19.192.0/19");
}

TEST(Generator, RefusesWhatCannotBeShared) {
  Scenario s;
  EXPECT_FALSE(generator_share(s, {1, 2}));  // no target
  s.target = Target{"198.18.100.1", "eth1", "198.18.100.50/24", "198.19.0.0/24", {}, {}, 0, {}};
  s.peers.count = 200;
  auto two = generator_share(s, {2, 2});  // 100 peers in a /25 (126 addresses)
  ASSERT_TRUE(two);
  EXPECT_EQ(two->target->peers, "198.19.0.128/25");
  auto many = generator_share(s, {1, 4});  // 50 peers in a /26 (62): fits
  EXPECT_TRUE(many);
  s.peers.count = 250;
  auto tight = generator_share(s, {1, 3});  // 84 peers in a /26 (62): does not fit
  ASSERT_FALSE(tight);
  EXPECT_NE(tight.error().describe().find("do not fit its prefix 198.19.0.0/26"), std::string::npos);
  s.peers.count = 3;
  EXPECT_FALSE(generator_share(s, {4, 4}));  // blocks of 1: the 4th has none
}

TEST(Generator, StartAtIsUtcOrRelativeForOneGenerator) {
  using namespace std::chrono;
  const auto now = system_clock::from_time_t(1'800'000'000);
  auto t = parse_start_at("2026-12-07T06:30:00.25Z", false, now);
  ASSERT_TRUE(t) << t.error().describe();
  EXPECT_EQ(duration_cast<milliseconds>(t->time_since_epoch()).count(), 1796625000250LL);
  auto rel = parse_start_at("+30s", true, now);
  ASSERT_TRUE(rel);
  EXPECT_EQ(*rel - now, seconds(30));
  EXPECT_FALSE(parse_start_at("+30s", false, now));
  EXPECT_FALSE(parse_start_at("+25h", true, now));
  auto far = parse_start_at("2999-01-01T00:00:00Z", true, now);  // past the clock's range
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().describe().find("more than a day ahead"), std::string::npos);
  for (const char* bad : {"2026-12-07 06:30:00Z", "2026-12-07T06:30:00", "2026-12-07T06:30:00+01:00",
                          "2026-12-07T06:30:00.Z", "tomorrow", "", "+soon"})
    EXPECT_FALSE(parse_start_at(bad, true, now)) << bad;
}

// The host checks (run/target_host.hpp) come in through LoadOptions: called with the typed
// target, their problems placed at `target:`, and not called when a target key is unreadable.
TEST(ScenarioTarget, TheHostCheckHookSeesTheTargetAndItsProblemsSitAtTarget) {
  std::vector<Target> seen;
  LoadOptions opt{"test.yaml", scenario_test::fixture("valid"), "test", {}};
  opt.target_host_check = [&seen](const Target& t) {
    seen.push_back(t);
    return std::vector<std::string>{"target.interface eth1 does not exist in this network namespace"};
  };
  auto out = load_text(kTarget, opt);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].address, "198.18.100.1");
  EXPECT_EQ(seen[0].interface, "eth1");
  EXPECT_EQ(seen[0].local, "198.18.100.50/24");
  EXPECT_EQ(seen[0].peers, "198.19.0.0/17");
  ASSERT_TRUE(seen[0].inner);
  EXPECT_FALSE(out.ok());
  bool found = false;
  for (const auto& d : out.diagnostics.items())
    if (d.message == "target.interface eth1 does not exist in this network namespace") {
      found = true;
      EXPECT_EQ(d.origin.line, 8) << "at target:'s map";
    }
  EXPECT_TRUE(found) << out.diagnostics.str();

  seen.clear();
  std::string broken = kTarget;
  broken.replace(broken.find("eth1"), 4, "eth/1");
  (void)load_text(broken, opt);
  EXPECT_TRUE(seen.empty()) << "the host was asked about a target with an unreadable key";
}
