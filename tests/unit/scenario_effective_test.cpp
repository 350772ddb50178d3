#include <gtest/gtest.h>

#include "scenario/effective.hpp"
#include "scenario_test_util.hpp"

namespace sc = ist::scenario;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

TEST(ScenarioEffective, LifetimesInWholeSeconds) {
  struct Case {
    const char* what;
    milliseconds rekey, rand;
    std::optional<milliseconds> life, over;
    milliseconds reauth;
    double scale;
    sc::EffectiveSa want;  // rekey, reauth, life, over, rand
  };
  const Case cases[] = {
      {"1h unscaled, default life = 1.1x", 1h, 0ms, {}, {}, 0ms, 1, {3600, 0, 3960, 360, 0}},
      {"30m / 60 = 30 s", 30min, 0ms, {}, {}, 0ms, 60, {30, 0, 33, 3, 0}},
      {"5m / 60 = 5 s, life rounded up", 5min, 0ms, {}, {}, 0ms, 60, {5, 0, 6, 1, 0}},
      {"11 s: 1.1x = 12.1 -> 13", 11s, 0ms, {}, {}, 0ms, 1, {11, 0, 13, 2, 0}},
      {"10 s: 1.1x = 11 exactly", 10s, 0ms, {}, {}, 0ms, 1, {10, 0, 11, 1, 0}},
      {"rounded to nearest: 89 s / 60", 89s, 0ms, {}, {}, 0ms, 60, {1, 0, 2, 1, 0}},
      {"at least 1 s", 10s, 0ms, {}, {}, 0ms, 3600, {1, 0, 2, 1, 0}},
      {"0 stays off", 0ms, 0ms, {}, {}, 0ms, 60, {0, 0, 0, 0, 0}},
      {"explicit life", 30min, 0ms, 40min, {}, 0ms, 60, {30, 0, 40, 10, 0}},
      {"explicit over", 30min, 0ms, {}, 3min, 0ms, 60, {30, 0, 33, 3, 0}},
      {"life that rounds onto rekey is bumped", 60s, 0ms, 61s, {}, 0ms, 60, {1, 0, 2, 1, 0}},
      {"rand capped at over", 1h, 6min, {}, {}, 0ms, 60, {60, 0, 66, 6, 6}},
      {"small rand becomes 1 s, capped", 1h, 20s, {}, {}, 0ms, 60, {60, 0, 66, 6, 1}},
      {"reauth longer than rekey sets the base", 1h, 0ms, {}, {}, 2h, 1, {3600, 7200, 7920, 720, 0}},
  };
  for (const auto& c : cases) {
    sc::SaSettings sa{{"x"}, c.rekey, c.rand, c.life, c.over, c.reauth};
    EXPECT_EQ(sc::effective_sa(sa, c.scale), c.want)
        << c.what << ": got " << sc::effective_sa(sa, c.scale).to_json().dump();
  }
}

TEST(ScenarioEffective, PhaseDurationsAreScaledLifetimesAndDeadlinesAreNot) {
  auto out = scenario_test::load_yaml(
      "time_scale: 60\n"
      "peers: { child: { rekey_time: 30m }, arrival: { rate: 100/s }, deadlines: { ike: 10s } }\n"
      "phases:\n"
      "  - connect: {}\n"
      "  - hold: { duration: 90m }\n"
      "  - storm: { peers: 10%, within: 2s }\n"
      "  - churn: { rate: 5/s, duration: 10m }\n"
      "  - teardown: {}\n");
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const auto& s = out.loaded->points[0].scenario;
  const auto e = sc::effective(s);
  EXPECT_EQ(e.phase_durations, (std::vector<milliseconds>{0ms, 90s, 0ms, 10s, 0ms}));
  EXPECT_EQ(e.peers_child.rekey_s, 30);
  EXPECT_EQ(e.peers_ike.rekey_s, 480);
  EXPECT_EQ(s.peers.deadline_ike, 10s);          // not scaled
  EXPECT_DOUBLE_EQ(s.peers.arrival.rate_per_s, 100);  // not scaled
  EXPECT_EQ(s.phases[2].within, 2s);             // wall clock
  const auto j = e.to_json(s);
  EXPECT_EQ(j["peers"]["child"]["rekey_time_s"], 30);
  EXPECT_EQ(j["peers"]["child"]["life_time_s"], 33);
  EXPECT_EQ(j["phases"][1]["kind"], "hold");
  EXPECT_EQ(j["phases"][1]["duration_ms"], 90000);
  EXPECT_EQ(j["time_scale"], 60.0);
  EXPECT_EQ(sc::scaled(1ms, 3600), 1ms);
  EXPECT_EQ(sc::scaled(0ms, 60), 0ms);
}

}  // namespace
