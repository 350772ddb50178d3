#include <gtest/gtest.h>

#include "scenario/load.hpp"
#include "scenario_test_util.hpp"

namespace sc = ist::scenario;
using namespace std::chrono_literals;
using scenario_test::load_yaml;

namespace {

sc::Override set(const std::string& arg) {
  auto r = sc::parse_set(arg);
  EXPECT_TRUE(r.ok()) << arg;
  return r.ok() ? *r : sc::Override{};
}

TEST(ScenarioOverride, ParseSet) {
  auto ov = sc::parse_set("peers.child.rekey_time=5m");
  ASSERT_TRUE(ov.ok());
  EXPECT_EQ(ov->path, "peers.child.rekey_time");
  EXPECT_EQ(ov->value, "5m");
  EXPECT_EQ(ov->label, "--set peers.child.rekey_time");
  EXPECT_EQ(sc::parse_set("a=b=c")->value, "b=c");
  struct Bad { const char* arg; const char* why; };
  const Bad bad[] = {{"peers.count", "expected KEY=VALUE"},
                     {"=5", "empty path"},
                     {"peers..count=5", "empty component"},
                     {".count=5", "empty component"}};
  for (const auto& b : bad) {
    auto r = sc::parse_set(b.arg);
    ASSERT_FALSE(r.ok()) << b.arg;
    EXPECT_NE(r.error().message.find(b.why), std::string::npos) << r.error().message;
  }
}

TEST(ScenarioOverride, AppliedBeforeValidationAndKeptInTheDocument) {
  auto out = load_yaml("peers: { count: 10 }\n",
                       {set("peers.count=20"), set("peers.child.rekey_time=5m"),
                        set("sut.charon.ikesa_limit=15"), set("peers.arrival={burst: 5}"),
                        set("peers.ike.proposals=[aes256-sha384-ecp384]"),
                        set("expect.codes.ERROR_IPSEC_IKE_MM_LIMIT=== 5"), sc::peers_override("30")});
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const auto& s = out.loaded->points[0].scenario;
  EXPECT_EQ(s.peers.count, 30u);  // later overrides win
  EXPECT_EQ(s.peers.child.rekey_time, 5min);
  ASSERT_EQ(s.sut.charon.size(), 1u);
  EXPECT_EQ(s.sut.charon[0].key, "ikesa_limit");
  EXPECT_EQ(s.sut.charon[0].value, "15");
  EXPECT_EQ(s.peers.arrival.kind, sc::Arrival::Kind::burst);
  EXPECT_EQ(s.peers.ike.proposals, std::vector<std::string>{"aes256-sha384-ecp384"});
  ASSERT_EQ(s.expect.size(), 1u);
  EXPECT_EQ(s.expect[0].expr(), "codes.ERROR_IPSEC_IKE_MM_LIMIT == 5");
  const auto& doc = out.loaded->document;
  EXPECT_EQ(doc["peers"]["count"], 30);
  EXPECT_EQ(doc["peers"]["child"]["rekey_time"], "5m");
  EXPECT_EQ(doc["sut"]["charon"]["ikesa_limit"], 15);
  EXPECT_EQ(doc["expect"]["codes.ERROR_IPSEC_IKE_MM_LIMIT"], "== 5");
}

TEST(ScenarioOverride, ErrorsNameTheOverride) {
  auto out = load_yaml("peers: { count: 10 }\nphases: [connect, {hold: {duration: 1m}}]\n",
                       {set("peers.cont=5"), set("peers.count.x=1"), set("phases.1.hold.duration=3x"),
                        set("phases.7.hold.duration=1s"), sc::peers_override("-3")});
  ASSERT_FALSE(out.ok());
  const std::string all = out.diagnostics.str();
  for (const char* want : {
           "--set peers.count.x: 'peers.count' is a value, not a section with keys",
           "--set phases.7.hold.duration: 'phases' has 2 entries; no index 7",
           "--set peers.cont: unknown key 'cont' in peers; did you mean 'count'?",
           "--set phases.1.hold.duration: phases[1].hold.duration: expected a duration",
           "--peers: peers.count: expected a whole number from 1 to 32767, got '-3'"}) {
    EXPECT_NE(all.find(want), std::string::npos) << "missing: " << want << "\nin:\n" << all;
  }
}

TEST(ScenarioOverride, CommandLineBytesThatAreNotUtf8AreReplaced) {
  auto out = load_yaml("name: x\n", {set("description=caf\xe9 \xc0\xb9")});
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  EXPECT_EQ(out.loaded->points[0].scenario.description, "caf\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_NO_THROW((void)out.loaded->document.dump());
}

TEST(ScenarioSweep, CartesianProductInStableOrder) {
  auto out = load_yaml(
      "peers: { count: 10 }\n"
      "sweep:\n"
      "  peers.child.rekey_time: [30m, 5m]\n"
      "  sut.charon.ikesa_limit: [5, 50]\n");
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const auto& pts = out.loaded->points;
  ASSERT_EQ(pts.size(), 4u);
  const std::pair<const char*, const char*> want[] = {{"30m", "5"}, {"30m", "50"}, {"5m", "5"}, {"5m", "50"}};
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(pts[i].parameters.at("peers.child.rekey_time"), want[i].first) << i;
    EXPECT_EQ(pts[i].parameters.at("sut.charon.ikesa_limit"), want[i].second) << i;
    EXPECT_EQ(pts[i].scenario.sut.charon.at(0).value, want[i].second);
    EXPECT_EQ(pts[i].document["sut"]["charon"]["ikesa_limit"], std::stoi(want[i].second));
  }
  EXPECT_EQ(pts[0].scenario.peers.child.rekey_time, 30min);
  EXPECT_EQ(pts[3].scenario.peers.child.rekey_time, 5min);
}

TEST(ScenarioSweep, ValuesMayBeMapsAndIndexIntoPhases) {
  auto out = load_yaml(
      "phases: [connect, {hold: {duration: 1m}}, teardown]\n"
      "sweep:\n"
      "  peers.arrival: [{rate: 10/s}, {burst: 20}]\n"
      "  phases.1.hold.duration: [1m, 2m, 3m]\n");
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  ASSERT_EQ(out.loaded->points.size(), 6u);
  EXPECT_EQ(out.loaded->points[0].parameters.at("peers.arrival"), R"({"rate":"10/s"})");
  EXPECT_EQ(out.loaded->points[5].scenario.peers.arrival.burst, 20u);
  EXPECT_EQ(out.loaded->points[5].scenario.phases[1].duration, 3min);
}

TEST(ScenarioSweep, SweepSetByOverrideAndCap) {
  auto out = load_yaml("name: x\n", {set("sweep.peers.count=[1, 2, 3]")});
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  EXPECT_EQ(out.loaded->points.size(), 3u);
  EXPECT_EQ(out.loaded->sweep_axes, std::vector<std::string>{"peers.count"});

  std::string list = "[";
  for (int i = 1; i <= 40; ++i) list += std::to_string(i) + (i < 40 ? "," : "]");
  auto big = load_yaml("sweep:\n  peers.count: " + list + "\n  time_scale: " + list + "\n");
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.diagnostics.str().find("more than 1000 runs"), std::string::npos) << big.diagnostics.str();

  auto swept_expect = load_yaml("sweep:\n  expect.failed: ['== 0']\n");
  ASSERT_FALSE(swept_expect.ok());
  EXPECT_NE(swept_expect.diagnostics.str().find("test.yaml:2:3: sweep.expect.failed: 'expect' cannot be swept"),
            std::string::npos)
      << swept_expect.diagnostics.str();
}

TEST(ScenarioSweep, AnErrorInEveryPointIsReportedOnce) {
  auto out = load_yaml("peers: { count: many }\nsweep:\n  time_scale: [1, 2, 3]\n");
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.diagnostics.items().size(), 1u) << out.diagnostics.str();
}

}  // namespace
