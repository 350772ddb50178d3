#include "reports/stats.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

namespace ist::reports::stats {

double normal_sf(double z) { return 0.5 * std::erfc(z / std::sqrt(2.0)); }

double normal_quantile(double p) {
  // Bisection on the tail: plenty fast for the few calls a comparison makes.
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    if (1.0 - normal_sf(mid) < p) lo = mid; else hi = mid;
  }
  return 0.5 * (lo + hi);
}

double lag1_rank_autocorrelation(const std::vector<double>& x) {
  const std::size_t n = x.size();
  if (n < 3) return 0;
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) { return x[i] < x[j]; });
  std::vector<double> rank(n);
  for (std::size_t k = 0; k < n;) {  // ties share their mean rank
    std::size_t j = k;
    while (j < n && x[order[j]] == x[order[k]]) ++j;
    for (std::size_t m = k; m < j; ++m) rank[order[m]] = (static_cast<double>(k) + static_cast<double>(j - 1)) / 2.0;
    k = j;
  }
  const double mean = std::accumulate(rank.begin(), rank.end(), 0.0) / static_cast<double>(n);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    den += (rank[i] - mean) * (rank[i] - mean);
    if (i + 1 < n) num += (rank[i] - mean) * (rank[i + 1] - mean);
  }
  return den > 0 ? num / den : 0;
}

MannWhitney mann_whitney_u(const std::vector<double>& a, const std::vector<double>& b, bool serial_correction) {
  MannWhitney r;
  const std::size_t na = a.size(), nb = b.size();
  if (na == 0 || nb == 0) return r;
  // Rank the pooled sample; tied values share their mean rank.
  std::vector<std::pair<double, int>> pooled;
  pooled.reserve(na + nb);
  for (double v : a) pooled.emplace_back(v, 0);
  for (double v : b) pooled.emplace_back(v, 1);
  std::sort(pooled.begin(), pooled.end(), [](auto& x, auto& y) { return x.first < y.first; });
  const double n = static_cast<double>(na + nb);
  double rank_sum_a = 0, tie_term = 0;
  for (std::size_t i = 0; i < pooled.size();) {
    std::size_t j = i;
    while (j < pooled.size() && pooled[j].first == pooled[i].first) ++j;
    const double t = static_cast<double>(j - i);
    const double mean_rank = (static_cast<double>(i + 1) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k)
      if (pooled[k].second == 0) rank_sum_a += mean_rank;
    tie_term += t * t * t - t;
    i = j;
  }
  const double dna = static_cast<double>(na), dnb = static_cast<double>(nb);
  r.u = rank_sum_a - dna * (dna + 1) / 2.0;
  r.prob_a_greater = r.u / (dna * dnb);
  r.valid = true;
  const double mean = dna * dnb / 2.0;
  double var = dna * dnb / 12.0 * ((n + 1) - tie_term / (n * (n - 1)));
  r.n_eff_a = dna;
  r.n_eff_b = dnb;
  if (serial_correction) {
    r.serial_a = std::clamp(lag1_rank_autocorrelation(a), 0.0, 0.95);
    r.serial_b = std::clamp(lag1_rank_autocorrelation(b), 0.0, 0.95);
    r.n_eff_a = std::max(1.0, dna * (1 - r.serial_a) / (1 + r.serial_a));
    r.n_eff_b = std::max(1.0, dnb * (1 - r.serial_b) / (1 + r.serial_b));
    // var(U / (nA nB)) ~ (nA + nB + 1) / (12 nA nB): evaluate it at the effective sizes.
    var *= ((r.n_eff_a + r.n_eff_b + 1) / (r.n_eff_a * r.n_eff_b)) / ((dna + dnb + 1) / (dna * dnb));
  }
  if (var <= 0) {  // every value tied: no evidence of a difference
    r.z = 0;
    r.p = 1;
    return r;
  }
  const double diff = r.u - mean;
  const double corrected = std::max(0.0, std::abs(diff) - 0.5);  // continuity correction
  r.z = std::copysign(corrected / std::sqrt(var), diff);
  r.p = std::min(1.0, 2.0 * normal_sf(std::abs(r.z)));
  return r;
}

Interval wilson(uint64_t k, uint64_t n, double z) {
  if (n == 0) return {0, 1};
  const double dn = static_cast<double>(n), ph = static_cast<double>(k) / dn, z2 = z * z;
  const double centre = (ph + z2 / (2 * dn)) / (1 + z2 / dn);
  const double half = z / (1 + z2 / dn) * std::sqrt(ph * (1 - ph) / dn + z2 / (4 * dn * dn));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

double gamma_p(double s, double x) {
  if (x <= 0) return 0;
  const double log_prefix = s * std::log(x) - x - std::lgamma(s);
  if (x < s + 1) {  // series
    double term = 1.0 / s, sum = term;
    for (int k = 1; k < 100000; ++k) {
      term *= x / (s + k);
      sum += term;
      if (std::abs(term) < std::abs(sum) * 1e-15) break;
    }
    return std::min(1.0, std::exp(log_prefix) * sum);
  }
  // Continued fraction for the upper tail Q (modified Lentz).
  const double tiny = 1e-300;
  double b = x + 1 - s, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (std::abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1) < 1e-15) break;
  }
  return std::max(0.0, 1.0 - std::exp(log_prefix) * h);
}

namespace {
// x with gamma_p(shape, x) == target, by bisection (gamma_p is increasing in x).
double gamma_p_inverse(double shape, double target) {
  double lo = 0, hi = shape + 50 * std::sqrt(shape + 1) + 50;
  for (int i = 0; i < 200; ++i) {
    double mid = 0.5 * (lo + hi);
    if (gamma_p(shape, mid) < target) lo = mid; else hi = mid;
  }
  return 0.5 * (lo + hi);
}
}  // namespace

Interval poisson_count(uint64_t events, double alpha) {
  const double k = static_cast<double>(events);
  Interval r;
  r.low = events == 0 ? 0 : gamma_p_inverse(k, alpha / 2);
  r.high = gamma_p_inverse(k + 1, 1 - alpha / 2);
  return r;
}

double poisson_rate_test(uint64_t a, double ta, uint64_t b, double tb) {
  if (ta <= 0 || tb <= 0) return 1;
  const uint64_t n = a + b;
  if (n == 0) return 1;
  const double q = ta / (ta + tb);
  if (n > 2000000) {  // normal approximation; the exact sum would be slow and equal
    const double dn = static_cast<double>(n), mean = dn * q, sd = std::sqrt(dn * q * (1 - q));
    return std::min(1.0, 2 * normal_sf(std::max(0.0, std::abs(static_cast<double>(a) - mean) - 0.5) / sd));
  }
  const double dn = static_cast<double>(n);
  auto log_pmf = [&](double i) {
    return std::lgamma(dn + 1) - std::lgamma(i + 1) - std::lgamma(dn - i + 1) + i * std::log(q) +
           (dn - i) * std::log1p(-q);
  };
  // Two-sided: the probability of every outcome no more likely than the observed one.
  const double observed = log_pmf(static_cast<double>(a)) + 1e-9;
  double p = 0;
  for (uint64_t i = 0; i <= n; ++i) {
    const double lp = log_pmf(static_cast<double>(i));
    if (lp <= observed) p += std::exp(lp);
  }
  return std::min(1.0, p);
}

double two_proportion_test(uint64_t ka, uint64_t na, uint64_t kb, uint64_t nb) {
  if (na == 0 || nb == 0) return 1;
  const double pa = static_cast<double>(ka) / static_cast<double>(na);
  const double pb = static_cast<double>(kb) / static_cast<double>(nb);
  const double pooled = static_cast<double>(ka + kb) / static_cast<double>(na + nb);
  const double se = std::sqrt(pooled * (1 - pooled) * (1.0 / static_cast<double>(na) + 1.0 / static_cast<double>(nb)));
  if (se == 0) return pa == pb ? 1 : 0;
  return std::min(1.0, 2 * normal_sf(std::abs(pa - pb) / se));
}

double fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  const uint64_t row1 = a + b, row2 = c + d, col1 = a + c, n = a + b + c + d;
  if (n == 0 || row1 == 0 || row2 == 0 || col1 == 0 || col1 == n) return 1;
  auto log_choose = [](double m, double k) { return std::lgamma(m + 1) - std::lgamma(k + 1) - std::lgamma(m - k + 1); };
  // P(top-left = x) is hypergeometric: choose(row1, x) choose(row2, col1 - x) / choose(n, col1).
  const double denom = log_choose(static_cast<double>(n), static_cast<double>(col1));
  auto log_pmf = [&](uint64_t x) {
    return log_choose(static_cast<double>(row1), static_cast<double>(x)) +
           log_choose(static_cast<double>(row2), static_cast<double>(col1 - x)) - denom;
  };
  const uint64_t lo = col1 > row2 ? col1 - row2 : 0, hi = std::min(row1, col1);
  const double observed = log_pmf(a) + 1e-7;  // relative slack for rounding in lgamma
  double p = 0;
  for (uint64_t x = lo; x <= hi; ++x) {
    const double lp = log_pmf(x);
    if (lp <= observed) p += std::exp(lp);
  }
  return std::min(1.0, p);
}

namespace {
// Lag-1 autocorrelation of a 0/1 series; 0 when it is constant or shorter than 3.
double lag1_indicator_autocorrelation(const std::vector<bool>& x) {
  const std::size_t n = x.size();
  if (n < 3) return 0;
  const double mean = static_cast<double>(std::count(x.begin(), x.end(), true)) / static_cast<double>(n);
  double num = 0, den = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double di = (x[i] ? 1.0 : 0.0) - mean;
    den += di * di;
    if (i + 1 < n) num += di * ((x[i + 1] ? 1.0 : 0.0) - mean);
  }
  return den > 0 ? num / den : 0;
}
}  // namespace

QuantileTest quantile_test(const std::vector<double>& a, const std::vector<double>& b, double q,
                           bool serial_correction) {
  QuantileTest r;
  r.q = q;
  if (a.empty() || b.empty()) return r;
  std::vector<double> pooled(a);
  pooled.insert(pooled.end(), b.begin(), b.end());
  std::sort(pooled.begin(), pooled.end());
  // The nearest-rank q-quantile of the pooled sample.
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(pooled.size())));
  r.pooled_quantile = pooled[std::clamp<std::size_t>(rank, 1, pooled.size()) - 1];
  // Ties at the split (latencies in whole ms, a stall that delays many peers alike): count
  // "at or above" instead of "above" when nothing is above, or when that puts the pooled
  // share nearer to 1 - q.
  const auto strictly = static_cast<double>(pooled.end() - std::upper_bound(pooled.begin(), pooled.end(), r.pooled_quantile));
  const auto at_or = static_cast<double>(pooled.end() - std::lower_bound(pooled.begin(), pooled.end(), r.pooled_quantile));
  const double want = (1 - q) * static_cast<double>(pooled.size());
  r.inclusive = at_or < static_cast<double>(pooled.size()) &&
                (strictly == 0 || std::abs(at_or - want) < std::abs(strictly - want));
  auto above = [&](const std::vector<double>& x, uint64_t& count, double& n_eff) {
    std::vector<bool> flags(x.size());
    for (std::size_t i = 0; i < x.size(); ++i)
      flags[i] = r.inclusive ? x[i] >= r.pooled_quantile : x[i] > r.pooled_quantile;
    count = static_cast<uint64_t>(std::count(flags.begin(), flags.end(), true));
    const double n = static_cast<double>(x.size());
    const double rho = serial_correction ? std::clamp(lag1_indicator_autocorrelation(flags), 0.0, 0.95) : 0.0;
    n_eff = std::max(1.0, n * (1 - rho) / (1 + rho));
  };
  above(a, r.above_a, r.n_eff_a);
  above(b, r.above_b, r.n_eff_b);
  r.valid = true;
  // Counts at the effective sizes: a burst of slow set-ups after one stall is one event, not many.
  auto shrink = [](uint64_t k, double n, double n_eff) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(k) * n_eff / n));
  };
  const uint64_t ka = shrink(r.above_a, static_cast<double>(a.size()), r.n_eff_a);
  const uint64_t kb = shrink(r.above_b, static_cast<double>(b.size()), r.n_eff_b);
  const auto na = static_cast<uint64_t>(std::llround(r.n_eff_a)), nb = static_cast<uint64_t>(std::llround(r.n_eff_b));
  r.p = fisher_exact(ka, std::max(na, ka) - ka, kb, std::max(nb, kb) - kb);
  return r;
}

}  // namespace ist::reports::stats
