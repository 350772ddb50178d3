#pragma once
// `ikestorm compare A B`: pairs the runs of two reports by their sweep parameters and
// states, per metric, A, B, the change and whether it is significant.
//
// Significant means p < 0.01 AND |relative change| > 5%. Tests per metric:
//   setup_latency_ms.p50        Mann-Whitney U on the latency samples (normal approximation,
//                               tie correction, variance inflated for serial correlation in
//                               arrival order); the effect is the percentile's own change
//   setup_latency_ms.p90, .p99  Mood's quantile test (values above the pooled quantile,
//                               Fisher's exact test, counts at effective sizes): a shift of the
//                               bulk says nothing about the tail, so the tail gets its own test
//   setup_latency_ms.max        delta only: one value per side
//   established, established_ratio, failed, unclassified, codes.NAME (peers)
//                               two-proportion test over peers; Wilson 95% intervals
//   setup_rate_per_s            Poisson rate test: established over the connect time
//   renegotiations_per_min(_wall), rekeys.*, codes.NAME.attempts
//                               Poisson rate test (exact conditional binomial) over the hold
//                               time (or per peer for attempts); exact Poisson 95% intervals
//   everything else (cpu_s, rss_mb, wall_s, leaks, ...)
//                               deltas only: one run per side gives no spread to test
#include <optional>
#include <string>
#include <vector>

#include "reports/report.hpp"
#include "reports/stats.hpp"

namespace ist::reports {

inline constexpr double kSignificanceP = 0.01;
inline constexpr double kSignificanceEffect = 0.05;
// Latency metrics must also move by this much, in ms. Two runs of one small scenario side by
// side on a busy 2-core host differ in their medians by up to ~1.3 ms at 3-5 ms latencies (the
// scheduler hands out slices of 0.75-3 ms); their samples are not independent of that, so a
// rank test alone calls such a shift significant now and then.
inline constexpr double kLatencyFloorMs = 1.0;

struct MetricDelta {
  std::string metric;               // path as --fail-on names it: "setup_latency_ms.p99", "codes.X"
  double a = 0, b = 0;
  double delta = 0;                 // b - a
  std::optional<double> relative;   // (b - a) / a; nullopt when a == 0 and b != 0 (infinite)
  std::string test;                 // "mann-whitney" | "mood-quantile" | "two-proportion" | "poisson-rate" | ""
  std::optional<double> p;
  std::optional<stats::Interval> ci_a, ci_b;  // 95% intervals of the metric's value
  bool significant = false;
};

struct RunPair {
  std::string key;                  // parameters text, "" for a single unswept run
  std::size_t index_a = 0, index_b = 0;  // into Report::runs
  std::vector<MetricDelta> metrics;
  stats::MannWhitney latency;
  std::size_t latency_n_a = 0, latency_n_b = 0;
};

struct Comparison {
  std::vector<RunPair> pairs;
  std::vector<std::string> only_in_a, only_in_b;  // run labels without a partner
  std::vector<std::string> warnings;
  std::size_t significant_changes() const;
};

Comparison compare(const Report& a, const Report& b);

// Whether a metric path names something compare knows (summary paths, codes.NAME[.attempts],
// informational.NAME[.attempts]).
bool known_metric(const std::string& metric);

nlohmann::json to_json(const Comparison& c);
std::string render_compare_text(const Comparison& c, const Report& a, const Report& b);
std::string render_compare_html(const Comparison& c, const Report& a, const Report& b,
                                const std::vector<std::pair<std::string, bool>>& fail_on_results = {});

}  // namespace ist::reports
