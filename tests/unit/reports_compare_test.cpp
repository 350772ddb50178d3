// compare: pairing, significance (p < 0.01 and > 5%), --fail-on grammar and evaluation.
#include <gtest/gtest.h>

#include "reports/compare.hpp"
#include "reports/fail_on.hpp"

using namespace ist::reports;

namespace {

// A run with `n` latency samples around `latency` ms and `reneg` renegotiations/min over a
// 10-minute hold.
RunReport make_run(std::size_t n, double latency, double reneg, double rate = 400, std::string point = "") {
  RunReport r;
  r.folder = "run-1";
  if (!point.empty()) r.parameters = {{"peers.child.rekey_time", point}};
  r.effective = {{"phases", {{{"kind", "connect"}}, {{"kind", "hold"}, {"scenario_duration_ms", 600000}, {"duration_ms", 10000}}}}};
  for (std::size_t i = 0; i < n; ++i) r.setup_latency_samples.push_back(latency + static_cast<double>(i % 13));
  r.summary.peers = n;
  r.summary.established = n;
  r.summary.established_ratio = 1;
  r.summary.setup_rate_per_s = rate;
  r.summary.setup_latency_ms = summarize_latency(r.setup_latency_samples);
  r.summary.renegotiations_per_min = reneg;
  r.summary.rekeys.child = static_cast<uint64_t>(reneg * 10);
  return r;
}

Report make_report(std::vector<RunReport> runs) {
  Report r;
  r.scenario = {{"name", "t"}};
  r.backend = "libipsec";
  r.runs = std::move(runs);
  return r;
}

const MetricDelta& metric(const Comparison& c, const std::string& name, std::size_t pair = 0) {
  for (const auto& m : c.pairs.at(pair).metrics)
    if (m.metric == name) return m;
  throw std::runtime_error("no metric " + name);
}

}  // namespace

TEST(Compare, SameRunsHaveNoSignificantChange) {
  auto a = make_report({make_run(200, 10, 20)});
  auto c = compare(a, a);
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.significant_changes(), 0u);
  EXPECT_TRUE(c.warnings.empty());
  // Every summary metric is listed.
  for (const char* k : {"peers", "established_ratio", "setup_rate_per_s", "setup_latency_ms.p99", "rekeys.child",
                        "renegotiations_per_min", "cpu_s.sut", "rss_mb.peers", "leaks", "unclassified"})
    EXPECT_NO_THROW(metric(c, k)) << k;
}

TEST(Compare, SignificanceNeedsBothPAndEffect) {
  struct Case {
    double latency_b, reneg_b, rate_b;
    bool latency_sig, reneg_sig, rate_sig;
  };
  const Case cases[] = {
      {10, 20, 400, false, false, false},
      {20, 20, 400, true, false, false},    // latency doubles: p tiny, effect large
      {10, 120, 400, false, true, false},   // 30m -> 5m lifetimes: 6x renegotiations
      {10, 20.4, 392, false, false, false}, // 2% changes: never significant
      {10.2, 20, 400, false, false, false}, // tiny latency shift: effect < 5%
      {10.9, 20, 400, false, false, false}, // 9% but under 1 ms: the host's scheduling noise
      {11.2, 20, 400, true, false, false},  // 12% and 1.2 ms
  };
  for (const auto& k : cases) {
    auto a = make_report({make_run(400, 10, 20)});
    auto b = make_report({make_run(400, k.latency_b, k.reneg_b, k.rate_b)});
    auto c = compare(a, b);
    EXPECT_EQ(metric(c, "setup_latency_ms.p50").significant, k.latency_sig) << k.latency_b;
    EXPECT_EQ(metric(c, "renegotiations_per_min").significant, k.reneg_sig) << k.reneg_b;
    EXPECT_EQ(metric(c, "setup_rate_per_s").significant, k.rate_sig) << k.rate_b;
    EXPECT_EQ(metric(c, "renegotiations_per_min").test, "poisson-rate");
    EXPECT_TRUE(metric(c, "renegotiations_per_min").ci_a.has_value());
  }
}

TEST(Compare, TailPercentilesHaveTheirOwnTest) {
  // 50 peers a side, B's bulk 0.8 ms slower and two slow set-ups: two values cannot show a
  // p99 change, and the maximum is one value (what a busy CI host does to a small run).
  auto ra = make_run(50, 10, 20), rb = make_run(50, 10.8, 20);
  rb.setup_latency_samples[7] = 80;
  rb.setup_latency_samples[40] = 95;
  rb.summary.setup_latency_ms = summarize_latency(rb.setup_latency_samples);
  auto c = compare(make_report({ra}), make_report({rb}));
  EXPECT_EQ(metric(c, "setup_latency_ms.p99").test, "mood-quantile");
  EXPECT_FALSE(metric(c, "setup_latency_ms.p99").significant);
  EXPECT_EQ(metric(c, "setup_latency_ms.max").test, "");
  EXPECT_FALSE(metric(c, "setup_latency_ms.max").significant);
  EXPECT_GT(*metric(c, "setup_latency_ms.max").relative, 1.0);  // the change is still shown
  // 2,000 peers a side with B's slowest 15% three times slower: p90 and p99 are significant,
  // the median is not.
  auto la = make_run(2000, 10, 20), lb = make_run(2000, 10, 20);
  for (std::size_t i = 0; i < lb.setup_latency_samples.size(); ++i)
    if (i % 13 >= 11) lb.setup_latency_samples[i] *= 3;
  lb.summary.setup_latency_ms = summarize_latency(lb.setup_latency_samples);
  auto big = compare(make_report({la}), make_report({lb}));
  EXPECT_TRUE(metric(big, "setup_latency_ms.p90").significant);
  EXPECT_TRUE(metric(big, "setup_latency_ms.p99").significant);
  EXPECT_FALSE(metric(big, "setup_latency_ms.p50").significant);
}

TEST(Compare, FromZeroRenegotiationsIsSignificant) {
  auto c = compare(make_report({make_run(100, 10, 0)}), make_report({make_run(100, 10, 60)}));
  const auto& m = metric(c, "renegotiations_per_min");
  EXPECT_FALSE(m.relative.has_value());  // +inf
  EXPECT_TRUE(m.significant);
  EXPECT_LT(*m.p, 1e-6);
}

TEST(Compare, PairsRunsByParametersAndCodes) {
  auto a = make_report({make_run(50, 10, 20, 400, "30m"), make_run(50, 10, 20, 400, "5m")});
  auto b = make_report({make_run(50, 10, 20, 400, "5m"), make_run(50, 10, 20, 400, "1m")});
  b.runs[0].codes["ERROR_IPSEC_IKE_MM_LIMIT"] = {10, 30};
  b.runs[0].summary.failed = 10;
  auto c = compare(a, b);
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_EQ(c.pairs[0].key, "peers.child.rekey_time=5m");
  EXPECT_EQ(c.pairs[0].index_a, 1u);
  EXPECT_EQ(c.only_in_a.size(), 1u);
  EXPECT_EQ(c.only_in_b.size(), 1u);
  const auto& code = metric(c, "codes.ERROR_IPSEC_IKE_MM_LIMIT");
  EXPECT_EQ(code.a, 0);
  EXPECT_EQ(code.b, 10);
  EXPECT_EQ(code.test, "two-proportion");
  EXPECT_TRUE(code.significant);  // 0 of 50 -> 10 of 50
  EXPECT_EQ(metric(c, "codes.ERROR_IPSEC_IKE_MM_LIMIT.attempts").b, 30);
}

TEST(Compare, SingleRunsWithDifferentParametersStillPair) {
  auto c = compare(make_report({make_run(50, 10, 20, 400, "30m")}), make_report({make_run(50, 10, 20, 400, "5m")}));
  ASSERT_EQ(c.pairs.size(), 1u);
  EXPECT_FALSE(c.warnings.empty());
}

TEST(FailOn, Grammar) {
  struct Case {
    const char* text;
    bool ok;
    const char* metric;
    const char* op;
    double change;
    bool percent;
  };
  const Case cases[] = {
      {"setup_rate_per_s < -10%", true, "setup_rate_per_s", "<", -10, true},
      {"setup_latency_ms.p99 > +20%", true, "setup_latency_ms.p99", ">", 20, true},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT > 0", true, "codes.ERROR_IPSEC_IKE_MM_LIMIT", ">", 0, false},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT.attempts>=5", true, "codes.ERROR_IPSEC_IKE_MM_LIMIT.attempts", ">=", 5, false},
      {"  failed != 0 ", true, "failed", "!=", 0, false},
      {"cpu_s.sut <= 1.5", true, "cpu_s.sut", "<=", 1.5, false},
      {"renegotiations_per_min == 0%", true, "renegotiations_per_min", "==", 0, true},
      {"no_such_metric > 1", false, "", "", 0, false},
      {"setup_rate_per_s", false, "", "", 0, false},
      {"setup_rate_per_s ~ 5", false, "", "", 0, false},
      {"setup_rate_per_s < ten%", false, "", "", 0, false},
      {"setup_rate_per_s < 10%%", false, "", "", 0, false},
      {"setup_rate_per_s < ", false, "", "", 0, false},
      {"< 5", false, "", "", 0, false},
      {"codes. > 1", false, "", "", 0, false},
  };
  for (const auto& c : cases) {
    auto r = parse_fail_on(c.text);
    ASSERT_EQ(r.ok(), c.ok) << c.text << (r ? "" : ": " + r.error().describe());
    if (!c.ok) continue;
    EXPECT_EQ(r->metric, c.metric) << c.text;
    EXPECT_EQ(r->op, c.op) << c.text;
    EXPECT_DOUBLE_EQ(r->change, c.change) << c.text;
    EXPECT_EQ(r->percent, c.percent) << c.text;
  }
}

TEST(FailOn, Evaluation) {
  auto a = make_report({make_run(100, 10, 20, 400)});
  auto b = make_report({make_run(100, 13, 20, 340)});  // rate -15%, latency p50 16 -> 19 ms
  b.runs[0].codes["ERROR_IPSEC_IKE_MM_LIMIT"] = {3, 9};
  const auto c = compare(a, b);
  struct Case {
    const char* rule;
    bool tripped;
  };
  const Case cases[] = {
      {"setup_rate_per_s < -10%", true},
      {"setup_rate_per_s < -20%", false},
      {"setup_rate_per_s < -50", true},   // absolute: -60/s
      {"setup_rate_per_s < -70", false},
      {"setup_latency_ms.p50 > +15%", true},
      {"setup_latency_ms.p50 > +20%", false},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT > 0", true},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT > 3", false},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT > 100%", true},  // from 0: +inf%
      {"codes.ERROR_IPSEC_IKE_DROP_NO_RESPONSE > 0", false},  // neither side saw it
      {"renegotiations_per_min != 0", false},
  };
  for (const auto& k : cases) {
    auto rule = parse_fail_on(k.rule);
    ASSERT_TRUE(rule.ok()) << k.rule;
    auto out = evaluate_fail_on(*rule, c);
    EXPECT_EQ(out.tripped, k.tripped) << k.rule;
    EXPECT_EQ(out.reasons.empty(), !k.tripped) << k.rule;
  }
}
