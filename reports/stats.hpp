#pragma once
// Small statistics for comparing two runs: a rank test for latency distributions and
// confidence intervals / tests for counts and rates. No dependencies beyond <cmath>.
#include <cstdint>
#include <vector>

namespace ist::reports::stats {

struct MannWhitney {
  double u = 0;          // U of sample A (count of pairs where A > B, ties count 1/2)
  double z = 0;          // normal approximation with continuity and tie correction
  double p = 1;          // two-sided
  double prob_a_greater = 0.5;  // U / (nA * nB): common-language effect size
  bool valid = false;    // false when a sample is empty (p stays 1)
  double serial_a = 0, serial_b = 0;  // lag-1 rank autocorrelation used (0 = none)
  double n_eff_a = 0, n_eff_b = 0;    // effective sample sizes behind z and p
};

// Mann-Whitney U test, normal approximation with tie correction (fine for n >= ~8 each;
// reports are compared with tens to thousands of samples).
//
// With `serial_correction`, samples are taken in arrival order and the variance is
// inflated for their serial correlation: peers that arrive together share a stall of the
// machine, so 50 latencies are not 50 independent draws. Each side's lag-1 rank
// autocorrelation r (clamped to [0, 0.95]) gives an effective size n (1 - r) / (1 + r),
// and the variance of U / (nA nB) is taken at those sizes. Without it: the textbook test.
MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b,
                           bool serial_correction = false);

// Mood's test of one quantile: pool both samples, take the pooled q-quantile, count in each
// sample the values above it and test the 2x2 table with Fisher's exact test. Unlike the
// rank test it asks about the tail itself (p90, p99), and with few values above the pooled
// quantile it is honest that nothing can be told: 0 of 50 against 2 of 50 has p ~ 0.5.
// With `serial_correction` each side's counts are shrunk to its effective size, from the
// lag-1 autocorrelation of its above/below indicators in arrival order (as for the rank test).
struct QuantileTest {
  double q = 0.5;
  double pooled_quantile = 0;   // the split point
  bool inclusive = false;       // "above" means >= the split (heavy ties there), else >
  uint64_t above_a = 0, above_b = 0;  // values above it, as observed
  double n_eff_a = 0, n_eff_b = 0;
  double p = 1;
  bool valid = false;           // false when a sample is empty
};
QuantileTest quantile_test(const std::vector<double>& a, const std::vector<double>& b, double q,
                           bool serial_correction = false);

// Two-sided Fisher exact test of the 2x2 table [[a, b], [c, d]] (rows: samples; columns:
// above / not above): the probability of every table with the same margins no more likely
// than the observed one.
double fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

// Lag-1 autocorrelation of the ranks of `x` (in the given order); 0 for fewer than 3 values.
double lag1_rank_autocorrelation(const std::vector<double>& x);

struct Interval {
  double low = 0, high = 0;
};

// Wilson score interval for a proportion k/n at the given z (1.96 = 95%).
Interval wilson(uint64_t k, uint64_t n, double z = 1.96);

// Confidence interval for a Poisson count (events observed), exact (Garwood) via the
// chi-square/gamma relation, at two-sided level 1 - alpha.
Interval poisson_count(uint64_t events, double alpha = 0.05);

// Two-sided p of "same rate" for Poisson counts a over exposure ta and b over tb: the exact
// conditional binomial test (given a + b events, a ~ Binomial(a + b, ta / (ta + tb))).
double poisson_rate_test(uint64_t a, double ta, uint64_t b, double tb);

// Two-sided p of "same proportion" for ka/na vs kb/nb (pooled two-proportion z test).
double two_proportion_test(uint64_t ka, uint64_t na, uint64_t kb, uint64_t nb);

// Standard normal upper tail and its inverse.
double normal_sf(double z);
double normal_quantile(double p);

// Regularized lower incomplete gamma P(s, x); used for the Poisson interval.
double gamma_p(double s, double x);

}  // namespace ist::reports::stats
