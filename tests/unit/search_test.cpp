// The capacity search's logic on synthetic pass/fail functions: no runs, just the values it
// picks, the frontier it finds and how many trials that takes.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "search/axis.hpp"
#include "search/capacity_search.hpp"

namespace ist::search {
namespace {

Axis axis(const char* from, const char* to, const char* res = "") {
  auto a = read_axis(from, to, res);
  EXPECT_TRUE(a.ok()) << (a.ok() ? "" : a.error().describe());
  return a.ok() ? *a : Axis{};
}

// Runs the search against `passes(value)`; returns it decided.
CapacitySearch search_with(const Axis& a, std::size_t k, const std::function<Verdict(double, std::size_t)>& verdict) {
  CapacitySearch s(a, k);
  std::size_t guard = 0;
  run_search(
      s,
      [&](double v, std::size_t number, std::size_t) {
        EXPECT_LT(++guard, 200u) << "the search does not end";
        return TrialResult{guard >= 200 ? Verdict::harness_fault : verdict(v, number), "trial", {}, 0};
      },
      nullptr, Limits{});
  return s;
}

CapacitySearch up_to(const Axis& a, double limit, std::size_t k = 1) {
  return search_with(a, k, [&](double v, std::size_t) { return v <= limit ? Verdict::pass : Verdict::fail; });
}

TEST(SearchAxis, ReadsEachUnitWithTheScenarioReaders) {
  auto n = axis("100", "1000");
  EXPECT_EQ(n.unit, Unit::number);
  EXPECT_TRUE(n.whole);
  EXPECT_EQ(n.resolution, 1);
  auto d = axis("30s", "5m", "10s");
  EXPECT_EQ(d.unit, Unit::duration);
  EXPECT_EQ(d.from, 30000);
  EXPECT_EQ(d.to, 300000);
  EXPECT_EQ(d.resolution, 10000);
  EXPECT_EQ(format_value(d, 90000), "90s");
  EXPECT_EQ(format_value(d, 120000), "2m");
  auto r = axis("50/s", "2000/s", "25/s");
  EXPECT_EQ(r.unit, Unit::rate);
  EXPECT_EQ(r.to, 2000);
  EXPECT_EQ(format_value(r, 1025), "1025/s");
  EXPECT_EQ(axis("0.5", "120/m").from, 0.5);  // a bare number beside a rate is per second
  auto frac = axis("0.5", "2", "0.25");
  EXPECT_FALSE(frac.whole);
  EXPECT_EQ(format_value(frac, 1.25), "1.25");
  EXPECT_EQ(axis("1m", "2m").resolution, 1000);  // default: one second
}

TEST(SearchAxis, RefusesBadFlagsWithTheFlagNamed) {
  auto expect_error = [](const char* f, const char* t, const char* r, const char* part) {
    auto a = read_axis(f, t, r);
    ASSERT_FALSE(a.ok()) << f << " " << t << " " << r;
    EXPECT_NE(a.error().describe().find(part), std::string::npos) << a.error().describe();
  };
  expect_error("500", "100", "", "--from 500 is not below --to 100");
  expect_error("100", "100", "", "is not below");
  expect_error("abc", "100", "", "--from 'abc': not a number");
  expect_error("10", "5x", "", "--to '5x'");
  expect_error("10s", "1m", "0s", "--resolution must be");
  expect_error("10", "100", "0", "--resolution must be above 0");
  expect_error("10/s", "5m", "", "mix a rate and a duration");
  expect_error("-5", "10", "", "--from '-5': must not be negative");
}

// The acceptance: ikesa_limit 300, --from 100 --to 1000 --resolution 1 finds exactly
// 300 in at most 12 trials: 100, 200, 400 (fail), then 7 bisection steps over [200, 400].
TEST(CapacitySearch, FindsTheIkesaLimitOf300InTenTrials) {
  auto s = up_to(axis("100", "1000", "1"), 300);
  EXPECT_EQ(s.status(), Status::found);
  EXPECT_EQ(s.highest_pass(), 300);
  EXPECT_EQ(s.lowest_fail(), 301);
  EXPECT_EQ(s.trials().size(), 10u);
  EXPECT_EQ(s.trials()[0].value, 100);
  EXPECT_EQ(s.trials()[1].value, 200);
  EXPECT_EQ(s.trials()[2].value, 400);
  EXPECT_EQ(s.trials()[2].verdict, Verdict::fail);
}

// Bracketing costs a trial per doubling, bisection one per halving: between 401 and 799 it
// takes 100, 200, 400, 800, then 9 halvings of [400, 800] (13); near --from it is cheaper
// than bisecting all of [from, to] (11), which is what a generous --to needs.
TEST(CapacitySearch, EveryLimitInTheRangeIsFoundExactly) {
  const auto a = axis("100", "1000", "1");
  for (int limit = 100; limit < 1000; ++limit) {
    auto s = up_to(a, limit);
    ASSERT_EQ(s.status(), Status::found) << limit;
    ASSERT_EQ(s.highest_pass(), limit);
    ASSERT_EQ(s.lowest_fail(), limit + 1);
    ASSERT_LE(s.trials().size(), limit <= 400 ? 12u : 13u) << "limit " << limit;
  }
}

TEST(CapacitySearch, TheSmallDefaultSetCaseFinds30InSevenTrials) {
  auto s = up_to(axis("10", "60"), 30);
  EXPECT_EQ(s.highest_pass(), 30);
  EXPECT_EQ(s.lowest_fail(), 31);
  std::vector<double> tried;
  for (const auto& t : s.trials()) tried.push_back(t.value);
  EXPECT_EQ(tried, (std::vector<double>{10, 20, 40, 30, 35, 32, 31}));
}

TEST(CapacitySearch, FromFailingEndsAtOnce) {
  auto s = up_to(axis("100", "1000"), 50);
  EXPECT_EQ(s.status(), Status::from_fails);
  EXPECT_EQ(s.trials().size(), 1u);
  EXPECT_FALSE(s.highest_pass());
  EXPECT_EQ(s.lowest_fail(), std::nullopt);  // --from failing is the answer; no bracket
}

TEST(CapacitySearch, ToPassingEndsWithNoFailure) {
  auto s = up_to(axis("100", "1000"), 5000);
  EXPECT_EQ(s.status(), Status::found);
  EXPECT_EQ(s.highest_pass(), 1000);
  EXPECT_FALSE(s.lowest_fail());
  std::vector<double> tried;
  for (const auto& t : s.trials()) tried.push_back(t.value);
  EXPECT_EQ(tried, (std::vector<double>{100, 200, 400, 800, 1000}));  // the last step clipped to --to
}

TEST(CapacitySearch, ResolutionIsInTheKeysUnits) {
  // Durations: 30s .. 10m in 15s steps; everything up to 4m20s passes -> 4m15s.
  auto s = up_to(axis("30s", "10m", "15s"), 260000);
  EXPECT_EQ(s.status(), Status::found);
  EXPECT_EQ(format_value(s.axis(), *s.highest_pass()), "255s");
  EXPECT_EQ(format_value(s.axis(), *s.lowest_fail()), "270s");
  for (const auto& t : s.trials()) EXPECT_EQ(std::fmod(t.value - 30000, 15000), 0) << t.value;
  // Rates: 100/s .. 5000/s to 50/s; passes up to 1234/s -> 1200/s, 1250/s failing.
  auto r = up_to(axis("100/s", "5000/s", "50/s"), 1234);
  EXPECT_EQ(format_value(r.axis(), *r.highest_pass()), "1200/s");
  EXPECT_EQ(format_value(r.axis(), *r.lowest_fail()), "1250/s");
  // Starting at 0 still brackets upwards (0, 1, 3, 7, ...).
  auto z = up_to(axis("0", "64"), 5);
  EXPECT_EQ(z.highest_pass(), 5);
  EXPECT_EQ(z.trials()[1].value, 1);
  EXPECT_EQ(z.trials()[2].value, 3);
}

TEST(CapacitySearch, AValuePassesOnlyAfterKTrialsInARow) {
  // A flaky value: 30 passes its first trial and fails its second.
  std::map<double, int> seen;
  auto s = search_with(axis("10", "60"), 3, [&](double v, std::size_t) {
    const int n = ++seen[v];
    if (v == 30 && n == 2) return Verdict::fail;
    return v <= 30 ? Verdict::pass : Verdict::fail;
  });
  EXPECT_EQ(s.highest_pass(), 29);
  EXPECT_EQ(s.lowest_fail(), 30);
  EXPECT_EQ(seen[10], 3);  // passing values ran K times
  EXPECT_EQ(seen[40], 1);  // a failing value stops at its first failure
  EXPECT_EQ(seen[30], 2);
  for (const auto& t : s.trials())
    if (t.value == 10) {
      EXPECT_LE(t.repeat, 3u);
    }
}

TEST(CapacitySearch, AHarnessFaultLeakOrInterruptStopsWithWhatIsKnown) {
  for (auto [v, st] : {std::pair{Verdict::harness_fault, Status::harness_fault}, {Verdict::leak, Status::leak},
                       {Verdict::interrupted, Status::interrupted}}) {
    auto s = search_with(axis("10", "60"), 1, [&](double value, std::size_t n) {
      if (n == 3) return v;
      return value <= 30 ? Verdict::pass : Verdict::fail;
    });
    EXPECT_EQ(s.status(), st);
    EXPECT_EQ(s.trials().size(), 3u);
    EXPECT_EQ(s.highest_pass(), 20);
    EXPECT_FALSE(s.lowest_fail());
  }
}

TEST(CapacitySearch, MaxTimeAndCtrlCStopBeforeTheNextTrial) {
  CapacitySearch s(axis("10", "60"), 1);
  double clock = 0;
  std::size_t seen = 0;
  run_search(
      s, [&](double, std::size_t, std::size_t) { clock += 10; return TrialResult{Verdict::pass, "", {}, 10}; },
      [&](const CapacitySearch&, const Trial&) { ++seen; },
      Limits{25, [&] { return clock; }, nullptr});
  EXPECT_EQ(s.status(), Status::max_time);
  EXPECT_EQ(s.trials().size(), 3u);
  EXPECT_EQ(seen, 3u);
  EXPECT_EQ(s.highest_pass(), 40);

  CapacitySearch c(axis("10", "60"), 1);
  bool stop = false;
  run_search(
      c, [&](double, std::size_t, std::size_t) { stop = true; return TrialResult{Verdict::pass, "", {}, 1}; },
      nullptr, Limits{0, nullptr, [&] { return stop; }});
  EXPECT_EQ(c.status(), Status::interrupted);
  EXPECT_EQ(c.trials().size(), 1u);
}

TEST(CapacitySearch, JsonCarriesTheFrontierAndEveryTrial) {
  auto s = up_to(axis("10", "60"), 30);
  auto j = to_json(s);
  EXPECT_EQ(j["status"], "found");
  EXPECT_EQ(j["frontier"]["highest_pass"], "30");
  EXPECT_EQ(j["frontier"]["lowest_fail"], "31");
  EXPECT_EQ(j["trials"].size(), 7u);
  EXPECT_EQ(j["trials"][2]["verdict"], "fail");
  EXPECT_EQ(j["trials"][2]["value"], "40");
  EXPECT_EQ(j["unit"], "number");
}

}  // namespace
}  // namespace ist::search
