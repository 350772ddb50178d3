// Statistics used by `ikestorm compare`, against textbook values.
#include <gtest/gtest.h>

#include <cmath>

#include "reports/stats.hpp"

using namespace ist::reports::stats;

TEST(MannWhitney, SeparatedSamplesMatchTheNormalApproximation) {
  // U = 0; mean 12.5; var 5*5*11/12; z = (0 - 12.5 + 0.5) / sqrt(var) = -2.5067; p = 0.01219.
  auto r = mann_whitney_u({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
  ASSERT_TRUE(r.valid);
  EXPECT_DOUBLE_EQ(r.u, 0);
  EXPECT_NEAR(r.z, -2.5067, 1e-4);
  EXPECT_NEAR(r.p, 0.01219, 1e-5);
  EXPECT_DOUBLE_EQ(r.prob_a_greater, 0);
}

TEST(MannWhitney, TieCorrectionAndSymmetry) {
  // Pooled {1,1,1,2,2,2}: ranks 2 (x3) and 5 (x3). A = {1,1,2}: R = 9, U = 3 = mean (4.5)? no:
  // U = 9 - 6 = 3, mean = 4.5, var = 9/12 * (7 - (24 + 24) / 30) = 4.05, z = -(1.5 - 0.5)/2.0125.
  auto r = mann_whitney_u({1, 1, 2}, {1, 2, 2});
  EXPECT_DOUBLE_EQ(r.u, 3);
  EXPECT_NEAR(r.z, -1.0 / std::sqrt(4.05), 1e-9);
  auto swapped = mann_whitney_u({1, 2, 2}, {1, 1, 2});
  EXPECT_DOUBLE_EQ(r.u + swapped.u, 9);
  EXPECT_NEAR(r.p, swapped.p, 1e-12);
}

TEST(MannWhitney, DegenerateInputs) {
  struct Case {
    std::vector<double> a, b;
    bool valid;
    double p;
  };
  const Case cases[] = {
      {{}, {1, 2}, false, 1},
      {{1, 2}, {}, false, 1},
      {{5, 5, 5}, {5, 5}, true, 1},   // every value tied: no evidence of a difference
      {{1, 2, 3}, {1, 2, 3}, true, 1},
  };
  for (const auto& c : cases) {
    auto r = mann_whitney_u(c.a, c.b);
    EXPECT_EQ(r.valid, c.valid);
    EXPECT_NEAR(r.p, c.p, 1e-12);
  }
}

TEST(MannWhitney, LargeShiftIsTiny) {
  std::vector<double> a, b;
  for (int i = 0; i < 200; ++i) {
    a.push_back(10 + (i % 17));
    b.push_back(15 + (i % 17));
  }
  EXPECT_LT(mann_whitney_u(a, b).p, 1e-6);
}

TEST(Intervals, WilsonAndPoissonTextbookValues) {
  auto w = wilson(8, 10);
  EXPECT_NEAR(w.low, 0.4902, 1e-4);
  EXPECT_NEAR(w.high, 0.9433, 1e-4);
  auto all = wilson(10, 10);
  EXPECT_NEAR(all.high, 1.0, 1e-12);
  EXPECT_GT(all.low, 0.69);
  EXPECT_EQ(wilson(0, 0).low, 0);
  EXPECT_EQ(wilson(0, 0).high, 1);

  auto p0 = poisson_count(0);
  EXPECT_EQ(p0.low, 0);
  EXPECT_NEAR(p0.high, 3.6889, 1e-3);
  auto p10 = poisson_count(10);
  EXPECT_NEAR(p10.low, 4.7954, 1e-3);
  EXPECT_NEAR(p10.high, 18.3904, 1e-3);
}

TEST(Tests, PoissonRateAndProportions) {
  EXPECT_NEAR(poisson_rate_test(10, 1, 10, 1), 1.0, 1e-9);
  EXPECT_NEAR(poisson_rate_test(0, 1, 20, 1), 2 * std::pow(0.5, 20), 1e-12);
  // Same rate with twice the exposure is no difference.
  EXPECT_GT(poisson_rate_test(50, 1, 100, 2), 0.9);
  EXPECT_LT(poisson_rate_test(100, 1, 200, 1), 1e-6);
  EXPECT_EQ(poisson_rate_test(5, 0, 5, 1), 1);
  EXPECT_NEAR(two_proportion_test(50, 100, 50, 100), 1.0, 1e-12);
  EXPECT_LT(two_proportion_test(100, 100, 50, 100), 1e-6);
  EXPECT_EQ(two_proportion_test(1, 0, 1, 1), 1);
}

TEST(Normal, QuantileAndTail) {
  EXPECT_NEAR(normal_quantile(0.975), 1.959964, 1e-5);
  EXPECT_NEAR(normal_sf(1.959964), 0.025, 1e-6);
  EXPECT_NEAR(gamma_p(1, 2), 1 - std::exp(-2), 1e-12);
  EXPECT_NEAR(gamma_p(3, 20), 1.0, 1e-6);
}

TEST(MannWhitney, SerialCorrelationWidensTheTest) {
  // B: a stall hits a contiguous half of the peers (what a busy host does); A: steady.
  std::vector<double> a, b;
  for (int i = 0; i < 50; ++i) {
    a.push_back(3 + (i * 7 % 11) * 0.3);
    b.push_back(i < 25 ? 3 + (i * 7 % 11) * 0.3 : 40 + (i * 7 % 11) * 5);
  }
  EXPECT_NEAR(lag1_rank_autocorrelation(b), 0.75, 0.2);
  EXPECT_LT(std::abs(lag1_rank_autocorrelation(a)), 0.5);
  auto plain = mann_whitney_u(a, b);
  auto corrected = mann_whitney_u(a, b, true);
  EXPECT_LT(plain.p, 0.01);
  EXPECT_GT(corrected.p, plain.p);
  EXPECT_LT(corrected.n_eff_b, 20);
  EXPECT_DOUBLE_EQ(corrected.u, plain.u);
  // Independent-looking samples are left (nearly) alone.
  std::vector<double> x, y;
  for (int i = 0; i < 100; ++i) {
    x.push_back((i * 37) % 101);
    y.push_back((i * 53) % 103 + 40);
  }
  auto px = mann_whitney_u(x, y), cx = mann_whitney_u(x, y, true);
  EXPECT_LT(cx.p, 0.01);
  EXPECT_NEAR(std::log(cx.p), std::log(px.p), std::abs(std::log(px.p)) * 0.5);
  EXPECT_DOUBLE_EQ(lag1_rank_autocorrelation({1, 2}), 0);
}

TEST(Fisher, TextbookTables) {
  EXPECT_NEAR(fisher_exact(1, 9, 11, 3), 0.002759, 2e-6);  // the classic tea-drinkers-style example
  EXPECT_NEAR(fisher_exact(0, 50, 2, 48), 0.49495, 1e-4);  // 0 of 50 vs 2 of 50: nothing to tell
  EXPECT_NEAR(fisher_exact(2, 48, 0, 50), 0.49495, 1e-4);  // symmetric
  EXPECT_DOUBLE_EQ(fisher_exact(0, 0, 0, 0), 1);
  EXPECT_DOUBLE_EQ(fisher_exact(0, 10, 0, 10), 1);        // nobody above: no evidence
  EXPECT_LT(fisher_exact(0, 100, 40, 60), 1e-12);
}

TEST(QuantileTest, TailShiftIsSeenAndBulkShiftIsNot) {
  // Same bulk, B's slowest 20% three times slower: the p90 split sees it.
  std::vector<double> a, b;
  for (int i = 0; i < 400; ++i) {
    const double v = 5 + (i * 37 % 101) * 0.05;
    a.push_back(v);
    b.push_back((i * 37 % 101) >= 80 ? v * 3 : v);
  }
  auto t = quantile_test(a, b, 0.90);
  EXPECT_TRUE(t.valid);
  EXPECT_LT(t.p, 1e-6);
  EXPECT_GT(t.above_b, t.above_a);
  // 50 samples a side, two slow ones in B: p99 cannot tell.
  std::vector<double> c(a.begin(), a.begin() + 50), d(a.begin(), a.begin() + 50);
  d[10] = 500;
  d[30] = 700;
  auto small = quantile_test(c, d, 0.99);
  EXPECT_GT(small.p, 0.1);
  // Identical samples: p == 1.
  EXPECT_DOUBLE_EQ(quantile_test(a, a, 0.99).p, 1);
  // Ties at the top: the split counts "at or above" rather than find nobody above it.
  std::vector<double> e(200, 10.0), f(200, 10.0);
  for (int i = 0; i < 30; ++i) f[static_cast<std::size_t>(i * 6)] = 66;
  auto tied = quantile_test(e, f, 0.99);
  EXPECT_TRUE(tied.inclusive);
  EXPECT_EQ(tied.above_b, 30u);
  EXPECT_LT(tied.p, 1e-6);
  EXPECT_FALSE(quantile_test({}, a, 0.5).valid);
}

TEST(QuantileTest, ABurstOfSlowSetupsCountsAsFewerEvents) {
  // B: one stall delays 40 consecutive peers. Without the serial correction the 40 look
  // like 40 independent slow draws; with it they shrink toward a few events.
  std::vector<double> a, b;
  for (int i = 0; i < 200; ++i) {
    a.push_back(5 + (i * 37 % 101) * 0.05);
    b.push_back(i >= 100 && i < 140 ? 60 : 5 + (i * 37 % 101) * 0.05);
  }
  auto plain = quantile_test(a, b, 0.90), corrected = quantile_test(a, b, 0.90, true);
  EXPECT_LT(plain.p, 0.01);
  EXPECT_GT(corrected.p, plain.p);
  EXPECT_LT(corrected.n_eff_b, 40);
  EXPECT_EQ(corrected.above_b, plain.above_b);  // observed counts are kept as they were
}
