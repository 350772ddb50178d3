// Every malformed fixture yields a precise message naming the file, line and column.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "scenario/load.hpp"
#include "scenario_test_util.hpp"

namespace sc = ist::scenario;
using scenario_test::fixture;

namespace {

struct Case {
  const char* file;  // in tests/fixtures/scenarios/malformed/
  int line;
  int column;
  const char* message;  // the text after "file:line:col: " must start with this
};

const Case kCases[] = {
    {"empty.yaml", 1, 1, "empty scenario: expected a YAML map"},
    {"comments-only.yaml", 1, 1, "empty scenario"},
    {"binary.yaml", 2, 1, "not a text file: byte 8 is NUL"},
    {"invalid-utf8.yaml", 2, 17, "not a text file: byte 28 is not UTF-8"},
    {"overlong-utf8.yaml", 1, 7, "not a text file: byte 6 is not UTF-8"},
    {"broken-indent.yaml", 4, 8, "broken YAML: illegal map value"},
    {"unclosed-flow.yaml", 3, 7, "broken YAML: end of map flow not found"},
    {"top-level-list.yaml", 1, 1, "a scenario is a YAML map with keys such as name, peers, phases; got a list"},
    {"multi-document.yaml", 2, 1, "the file holds more than one YAML document"},
    {"duplicate-key.yaml", 3, 3, "duplicate key 'count'"},
    {"unknown-top-key.yaml", 2, 1, "unknown key 'peer' at top level; did you mean 'peers'?"},
    {"unknown-child-key.yaml", 3, 5, "unknown key 'rekey_tme' in peers.child; did you mean 'rekey_time'?"},
    {"reauth-in-child.yaml", 3, 5, "unknown key 'reauth_time' in peers.child"},
    {"count-negative.yaml", 2, 10, "peers.count: expected a whole number from 1 to 32767, got '-5': must not be negative"},
    {"count-absurd.yaml", 2, 10, "peers.count: expected a whole number from 1 to 32767, got '5000000': out of range: the address plan holds 32767 IPv4 peers (peers.family: ipv6 holds 131072)"},
    {"count-not-number.yaml", 2, 10, "peers.count: expected a whole number from 1 to 32767, got 'lots': not a whole number"},
    {"count-map.yaml", 2, 10, "peers.count: expected a whole number from 1 to 32767, got a map"},
    {"duration-bad-unit.yaml", 2, 24, "peers.child.rekey_time: expected a duration like 30s, 5m or 8h (0s to 30 days), got '5x': unknown unit 'x'"},
    {"duration-too-long.yaml", 3, 17, "peers.ike.rekey_time: expected a duration like 30s, 5m or 8h (0s to 30 days), got '1000h': out of range"},
    {"duration-negative.yaml", 3, 23, "phases[1].hold.duration: expected a duration like 30s, 5m or 8h (1ms to 30 days), got '-5s': must not be negative"},
    {"rate-bad-unit.yaml", 2, 20, "peers.arrival.rate: expected a rate like 200/s or 30/m (above 0, at most 1000000/s), got '5/x': unknown unit '/x'"},
    {"rate-zero.yaml", 3, 11, "peers.arrival.rate: expected a rate like 200/s or 30/m (above 0, at most 1000000/s), got '0/s': out of range"},
    {"rate-absurd.yaml", 3, 11, "peers.arrival.rate: expected a rate like 200/s or 30/m (above 0, at most 1000000/s), got '2000000/s': out of range"},
    {"arrival-two-kinds.yaml", 2, 12, "peers.arrival: give exactly one of rate, burst or ramp (2 given)"},
    {"ramp-missing-over.yaml", 3, 11, "peers.arrival.ramp: missing 'over'"},
    {"share-no-percent.yaml", 3, 21, "phases[1].storm.peers: expected a share above 0%, at most 100%, got '50': a share needs '%'"},
    {"share-over-100.yaml", 3, 21, "phases[1].storm.peers: expected a share above 0%, at most 100%, got '150%': out of range"},
    {"time-scale-zero.yaml", 2, 13, "time_scale: expected a number from 1 to 3600, got '0': out of range"},
    {"time-scale-absurd.yaml", 1, 13, "time_scale: expected a number from 1 to 3600, got '100000': out of range"},
    {"backend-typo.yaml", 1, 10, "backend: expected one of auto, xfrm, libipsec, vm, got 'xfrn': did you mean 'xfrm'?"},
    {"auth-unknown.yaml", 2, 9, "peers.auth: expected one of psk, ecdsa, rsa, eap-mschapv2, got 'cert'"},
    {"encap-not-bool.yaml", 2, 10, "peers.encap: expected true or false, got 'maybe'"},
    {"start-action-typo.yaml", 2, 17, "peers.start_action: expected one of none, trap, got 'trapp': did you mean 'trap'?"},
    {"start-action-native.yaml", 3, 17, "peers.start_action: trap needs peers.engine: charon"},
    {"trap-traffic-no-trap.yaml", 2, 17, "peers.trap_traffic: needs peers.start_action: trap"},
    {"trap-traffic-too-fast.yaml", 3, 17, "peers.trap_traffic: expected a rate per peer of at most 1000/s"},
    {"daemons-zero.yaml", 2, 12, "peers.daemons: expected a whole number from 1 to 256, got '0': out of range"},
    {"sut-owned-load.yaml", 4, 5, "sut.charon.load: 'load' is set by the harness"},
    {"sut-owned-vici-socket.yaml", 5, 9, "sut.charon.plugins.vici.socket: 'plugins.vici.socket' is set by the harness"},
    {"sut-owned-filelog.yaml", 3, 5, "sut.charon.filelog: 'filelog' is set by the harness"},
    {"retransmit-not-whole.yaml", 3, 31, "peers.charon.retransmit_tries: expected a whole number >= 0, got '2.5'"},
    {"retransmit-native-range.yaml", 3, 30, "peers.charon.retransmit_base: expected between 1 and 10, got '11': the native peers' range"},
    {"sweep-empty.yaml", 2, 8, "sweep: empty; give at least one axis"},
    {"sweep-empty-list.yaml", 2, 16, "sweep.peers.count: the list of values is empty"},
    {"sweep-unknown-path.yaml", 2, 3, "sweep path 'peers.child.rekey_tme': unknown key 'rekey_tme' in peers.child; did you mean 'rekey_time'?"},
    {"sweep-not-list.yaml", 2, 16, "sweep.peers.count: expected a list of values like [30m, 5m], got '5'"},
    {"sweep-bad-value.yaml", 4, 7, "peers.count: expected a whole number from 1 to 32767, got '-1': must not be negative"},
    {"sweep-through-value.yaml", 4, 3, "sweep path 'peers.count.max': 'peers.count' is a value, not a section"},
    {"expect-bad-op.yaml", 2, 22, "expect.established_ratio: expected a condition like \">= 0.99\", got '=> 1': use '=='"},
    {"expect-unquoted.yaml", 2, 23, "broken YAML: unexpected character in block scalar; quote a value that starts with '>'"},
    {"expect-unknown-path.yaml", 2, 3, "expect: unknown expectation 'establshed_ratio'; did you mean 'established_ratio'?"},
    {"expect-path-cut-short.yaml", 2, 3, "expect: unknown expectation 'setup_rate'; did you mean 'setup_rate_per_s'?"},
    {"expect-not-number.yaml", 2, 11, "expect.failed: expected a condition like \">= 0.99\", got '<= few': 'few' is not a number"},
    {"phase-unknown.yaml", 3, 5, "phases[1]: unknown phase 'hodl'; did you mean 'hold'?"},
    {"phase-hold-no-duration.yaml", 3, 5, "phases[1].hold: missing 'duration'"},
    {"phase-first-not-connect.yaml", 2, 5, "phases[0]: the first phase must be connect"},
    {"phase-teardown-not-last.yaml", 3, 5, "phases[1]: teardown must be the last phase"},
    {"phases-empty.yaml", 1, 9, "phases: the list is empty"},
    {"life-shorter-than-rekey.yaml", 4, 16, "peers.child.life_time: 30m must be longer than rekey_time (1h)"},
    {"rand-too-large.yaml", 4, 16, "peers.child.rand_time: 30m must be at most life_time - rekey_time (6m)"},
    {"config-missing-file.yaml", 3, 19, "sut.config.swanctl_conf: expected a file path (relative to the scenario file), got 'gw/does-not-exist.conf': no such file"},
    {"name-bad.yaml", 1, 7, "name: expected a name of 1-64 letters, digits, '.', '_' or '-', got 'my scenario!'"},
    {"proposals-empty.yaml", 3, 16, "peers.ike.proposals: the list is empty"},
    {"link-rate-no-unit.yaml", 2, 9, "link.rate: expected a link rate like 1gbit or 100mbit (1kbit to 10000gbit), got '100': a link rate needs a unit"},
    {"churn-missing-rate.yaml", 3, 5, "phases[1].churn: missing 'rate'"},
    {"alias-bomb.yaml", 5, 36, "document too large: more than 100000 nodes"},
    {"leading-comma.yaml", 1, 1, "broken YAML: unexpected ','"},
    {"many-errors.yaml", 1, 1, "unknown key 'bad_key_0' at top level"},
    // What `run` would otherwise refuse only after building things (exit 3).
    {"count-over-address-plan.yaml", 3, 10, "peers.count: expected a whole number from 1 to 32767, got '40000': out of range: the address plan holds 32767 IPv4 peers (peers.family: ipv6 holds 131072)"},
    {"count-over-ipv6-plan.yaml", 4, 10, "peers.count: expected a whole number from 1 to 131072, got '131073': out of range: the address plan holds 131072 IPv6 peers"},
    {"family-ipv6-flood.yaml", 6, 5, "peers.flood (its spoofed sources and packets are IPv4): not with peers.family: ipv6 yet"},
    {"family-unknown.yaml", 3, 11, "peers.family: expected one of ipv4, ipv6, got 'ipv5'"},
    {"target-ipv6-mixed-family.yaml", 11, 10, "target.local: expected an IPv6 prefix like 2001:2:4000::/64, got '198.18.100.50/24': it is IPv4 and peers.family is ipv6 (a target's addresses are all of one family)"},
    {"target-ipv6-peers-overlap-local.yaml", 12, 10, "target.peers: expected a prefix away from the gateway's network, got '2001:2:100:0:8000::/65': it overlaps target.local 2001:2:100::50/64"},
    {"sweep-count-over-address-plan.yaml", 3, 22, "peers.count: expected a whole number from 1 to 32767, got '40000'"},
    {"native-auth-ecdsa.yaml", 4, 9, "peers.auth: ecdsa needs peers.engine: charon (the native engine authenticates with a PSK only)"},
    {"native-sut-config.yaml", 5, 11, "sut.config: needs peers.engine: charon"},
    {"native-proposal-unsupported.yaml", 4, 21, "peers.ike.proposals: '3des' in '3des-sha1-modp1024' is not supported (the native engine supports"},
    {"config-strongswan-only.yaml", 4, 22, "sut.config.strongswan_conf: needs sut.config.swanctl_conf"},
};

class Malformed : public ::testing::TestWithParam<Case> {};

TEST_P(Malformed, NamesFileLineColumnAndProblem) {
  const Case& c = GetParam();
  const auto path = fixture("malformed") / c.file;
  ASSERT_TRUE(std::filesystem::exists(path)) << path;
  auto out = sc::load_file(path);
  ASSERT_FALSE(out.ok()) << c.file << " was accepted";
  ASSERT_FALSE(out.diagnostics.empty());
  const std::string want =
      path.string() + ":" + std::to_string(c.line) + ":" + std::to_string(c.column) + ": " + c.message;
  const auto& first = out.diagnostics.items().front();
  EXPECT_EQ(first.str().substr(0, want.size()), want) << "all problems:\n" << out.diagnostics.str();
  EXPECT_EQ(first.origin.source, path.string());
  EXPECT_EQ(first.origin.line, c.line);
  EXPECT_EQ(first.origin.column, c.column);
  // The Result form carries the same text.
  auto r = sc::load(path);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(want), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Malformed, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           std::string n = param_info.param.file;
                           n = n.substr(0, n.find('.'));
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

TEST(MalformedFixtures, EveryFileHasACaseAndThereAreAtLeastThirty) {
  std::set<std::string> in_table;
  for (const auto& c : kCases) in_table.insert(c.file);
  std::set<std::string> on_disk;
  for (const auto& e : std::filesystem::directory_iterator(fixture("malformed"))) {
    on_disk.insert(e.path().filename().string());
  }
  EXPECT_EQ(in_table, on_disk);
  EXPECT_GE(on_disk.size(), 30u);
}

TEST(MalformedFixtures, AllProblemsAreCollectedUpToACap) {
  auto out = sc::load_file(fixture("malformed/many-errors.yaml"));
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.diagnostics.items().size(), sc::Diagnostics::kMaxReported);
  EXPECT_EQ(out.diagnostics.dropped(), 25u - sc::Diagnostics::kMaxReported);
  EXPECT_EQ(out.diagnostics.count(), 25u);
  EXPECT_NE(out.diagnostics.str().find("... and 5 more problems"), std::string::npos);
}

TEST(MalformedFixtures, SeveralDifferentProblemsInOneFile) {
  auto out = scenario_test::load_yaml(
      "name: x\n"
      "time_scale: 0\n"
      "peers:\n"
      "  count: -1\n"
      "  child: { rekey_tme: 5m }\n"
      "phases:\n"
      "  - connect: {}\n"
      "  - hold: { duration: 5 parsecs }\n");
  ASSERT_FALSE(out.ok());
  const auto& items = out.diagnostics.items();
  ASSERT_EQ(items.size(), 4u) << out.diagnostics.str();
  EXPECT_EQ(items[0].origin.line, 2);
  EXPECT_EQ(items[1].origin.line, 4);
  EXPECT_EQ(items[2].origin.line, 5);
  EXPECT_EQ(items[3].origin.line, 8);
}

TEST(MalformedFixtures, MissingFileAndFolder) {
  auto missing = sc::load_file(fixture("malformed/no-such-file.yaml"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.diagnostics.str().find("no-such-file.yaml: cannot read: no such file"),
            std::string::npos);
  auto folder = sc::load_file(fixture("malformed"));
  ASSERT_FALSE(folder.ok());
  EXPECT_NE(folder.diagnostics.str().find("is a folder"), std::string::npos);
}

}  // namespace
