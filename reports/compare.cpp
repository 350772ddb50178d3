#include "reports/compare.hpp"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "reports/html.hpp"
#include "reports/json_util.hpp"

namespace ist::reports {

using nlohmann::json;

namespace {

// Numeric leaves of a JSON object as dotted paths, in document order.
void flatten(const json& j, const std::string& prefix, std::vector<std::pair<std::string, double>>& out) {
  for (auto& [k, v] : j.items()) {
    std::string path = prefix.empty() ? k : prefix + "." + k;
    if (v.is_object()) flatten(v, path, out);
    else if (v.is_number()) out.emplace_back(path, v.get<double>());
    else if (v.is_boolean()) out.emplace_back(path, v.get<bool>() ? 1 : 0);
  }
}

json summary_json(const RunReport& run) { return to_json(Report{.runs = {run}})["runs"][0]["summary"]; }

// Minutes of scenario (or wall) time spent in hold phases, from the run's effective settings.
std::optional<double> hold_minutes(const RunReport& run, bool wall) {
  if (!run.effective.is_object() || !run.effective.contains("phases") || !run.effective["phases"].is_array())
    return std::nullopt;
  double ms = 0;
  for (const auto& p : run.effective["phases"])
    if (str_field(p, "kind") == "hold")
      ms += num_field(p, wall ? "duration_ms" : "scenario_duration_ms");
  if (ms <= 0) return std::nullopt;
  return ms / 60000.0;
}

uint64_t rounded(double v) { return v <= 0 ? 0 : static_cast<uint64_t>(std::llround(v)); }

void proportion_test(MetricDelta& m, uint64_t ka, uint64_t na, uint64_t kb, uint64_t nb, double scale_a,
                     double scale_b) {
  if (na == 0 || nb == 0) return;
  m.test = "two-proportion";
  m.p = stats::two_proportion_test(ka, na, kb, nb);
  auto ia = stats::wilson(ka, na), ib = stats::wilson(kb, nb);
  m.ci_a = stats::Interval{ia.low * scale_a, ia.high * scale_a};
  m.ci_b = stats::Interval{ib.low * scale_b, ib.high * scale_b};
}

// events over exposure on each side; the interval is of events/exposure * unit.
void rate_test(MetricDelta& m, uint64_t ea, double ta, uint64_t eb, double tb, double unit) {
  if (ta <= 0 || tb <= 0) return;
  m.test = "poisson-rate";
  m.p = stats::poisson_rate_test(ea, ta, eb, tb);
  auto ia = stats::poisson_count(ea), ib = stats::poisson_count(eb);
  m.ci_a = stats::Interval{ia.low / ta * unit, ia.high / ta * unit};
  m.ci_b = stats::Interval{ib.low / tb * unit, ib.high / tb * unit};
}

void add_tests(MetricDelta& m, const RunReport& ra, const RunReport& rb, const stats::MannWhitney& mw) {
  const auto& sa = ra.summary;
  const auto& sb = rb.summary;
  const std::string& k = m.metric;
  if (k == "setup_latency_ms.p50") {
    if (mw.valid) {
      m.test = "mann-whitney";
      m.p = mw.p;
    }
  } else if (k == "setup_latency_ms.p90" || k == "setup_latency_ms.p99") {
    const double q = k == "setup_latency_ms.p90" ? 0.90 : 0.99;
    auto qt = stats::quantile_test(ra.setup_latency_samples, rb.setup_latency_samples, q, true);
    if (qt.valid) {
      m.test = "mood-quantile";
      m.p = qt.p;
    }
  } else if (k == "established" || k == "established_ratio") {
    double sca = k == "established" ? static_cast<double>(sa.peers) : 1, scb = k == "established" ? static_cast<double>(sb.peers) : 1;
    proportion_test(m, sa.established, sa.peers, sb.established, sb.peers, sca, scb);
  } else if (k == "failed" || k == "unclassified") {
    uint64_t ka = k == "failed" ? sa.failed : sa.unclassified, kb = k == "failed" ? sb.failed : sb.unclassified;
    proportion_test(m, ka, sa.peers, kb, sb.peers, static_cast<double>(sa.peers), static_cast<double>(sb.peers));
  } else if (k.rfind("codes.", 0) == 0 || k.rfind("informational.", 0) == 0) {
    const bool attempts = k.size() > 9 && k.compare(k.size() - 9, 9, ".attempts") == 0;
    if (attempts)  // attempts per peer: a rate with the peers as exposure
      rate_test(m, rounded(m.a), static_cast<double>(sa.peers), rounded(m.b), static_cast<double>(sb.peers), 1);
    else
      proportion_test(m, rounded(m.a), sa.peers, rounded(m.b), sb.peers, static_cast<double>(sa.peers),
                      static_cast<double>(sb.peers));
  } else if (k == "setup_rate_per_s") {
    if (sa.setup_rate_per_s > 0 && sb.setup_rate_per_s > 0)
      rate_test(m, sa.established, static_cast<double>(sa.established) / sa.setup_rate_per_s, sb.established,
                static_cast<double>(sb.established) / sb.setup_rate_per_s, 1);
  } else if (k.rfind("rekeys_in_hold.", 0) == 0) {
    // Rekeys counted inside the hold windows over the hold's wall minutes.
    auto ta = hold_minutes(ra, true), tb = hold_minutes(rb, true);
    if (ta && tb) rate_test(m, rounded(m.a), *ta, rounded(m.b), *tb, 1);
  } else if (k == "renegotiations_per_min" || k == "renegotiations_per_min_wall" || k.rfind("rekeys.", 0) == 0) {
    const bool wall = k == "renegotiations_per_min_wall";
    auto ta = hold_minutes(ra, wall), tb = hold_minutes(rb, wall);
    if (k.rfind("rekeys.", 0) == 0) {
      if (!ta || !tb) ta = tb = 1.0;  // no hold time known: equal exposure
      rate_test(m, rounded(m.a), *ta, rounded(m.b), *tb, 1);
      // These metrics are counts: give the intervals of the counts.
      auto ia = stats::poisson_count(rounded(m.a)), ib = stats::poisson_count(rounded(m.b));
      m.ci_a = ia;
      m.ci_b = ib;
      return;
    }
    if (!ta || !tb) return;
    // The events are the rekeys counted in the holds; a report from before they were counted
    // (none counted, yet a rate) falls back to the estimate times the hold.
    auto events = [](const Summary& s, double rate, double minutes) {
      const uint64_t counted = s.rekeys_in_hold.ike + s.rekeys_in_hold.child;
      return counted > 0 || rate <= 0 ? counted : rounded(rate * minutes);
    };
    rate_test(m, events(sa, m.a, *ta), *ta, events(sb, m.b, *tb), *tb, 1);
  }
}

std::string pair_key(const RunReport& r) { return r.parameters.is_object() ? r.parameters.dump() : "{}"; }

void compare_runs(RunPair& pair, const RunReport& ra, const RunReport& rb) {
  pair.latency = stats::mann_whitney_u(ra.setup_latency_samples, rb.setup_latency_samples, true);
  pair.latency_n_a = ra.setup_latency_samples.size();
  pair.latency_n_b = rb.setup_latency_samples.size();

  std::vector<std::pair<std::string, double>> la, lb;
  flatten(summary_json(ra), "", la);
  flatten(summary_json(rb), "", lb);
  std::map<std::string, double> mb(lb.begin(), lb.end());
  std::vector<std::tuple<std::string, double, double>> rows;
  for (auto& [k, v] : la) rows.emplace_back(k, v, mb.count(k) ? mb[k] : 0);
  // Codes: every name either side saw; a missing entry is zero.
  for (const char* group : {"codes", "informational"}) {
    const auto& ca = std::string(group) == "codes" ? ra.codes : ra.informational;
    const auto& cb = std::string(group) == "codes" ? rb.codes : rb.informational;
    std::set<std::string> names;
    for (auto& [n, c] : ca) names.insert(n);
    for (auto& [n, c] : cb) names.insert(n);
    for (const auto& n : names) {
      CodeCount a = ca.count(n) ? ca.at(n) : CodeCount{}, b = cb.count(n) ? cb.at(n) : CodeCount{};
      rows.emplace_back(std::string(group) + "." + n, static_cast<double>(a.peers), static_cast<double>(b.peers));
      rows.emplace_back(std::string(group) + "." + n + ".attempts", static_cast<double>(a.attempts),
                        static_cast<double>(b.attempts));
    }
  }
  for (auto& [k, a, b] : rows) {
    MetricDelta m;
    m.metric = k;
    m.a = a;
    m.b = b;
    m.delta = b - a;
    if (a != 0) m.relative = (b - a) / std::abs(a);
    else if (b == 0) m.relative = 0.0;
    add_tests(m, ra, rb, pair.latency);
    const bool latency = k.rfind("setup_latency_ms.", 0) == 0;
    const bool big = (!m.relative || std::abs(*m.relative) > kSignificanceEffect) &&
                     (!latency || std::abs(m.delta) >= kLatencyFloorMs);
    m.significant = m.p && *m.p < kSignificanceP && big;
    pair.metrics.push_back(std::move(m));
  }
}

std::string fmt(double v) {
  char b[64];
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::abs(v) >= 100 || v == std::floor(v)) std::snprintf(b, sizeof b, "%.1f", v);
  else std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

std::string change_text(const MetricDelta& m) {
  if (!m.relative) return m.delta > 0 ? "+inf%" : "-inf%";
  char b[32];
  std::snprintf(b, sizeof b, "%+.1f%%", *m.relative * 100);
  return b;
}

}  // namespace

std::size_t Comparison::significant_changes() const {
  std::size_t n = 0;
  for (const auto& p : pairs)
    for (const auto& m : p.metrics) n += m.significant;
  return n;
}

bool known_metric(const std::string& metric) {
  for (const char* prefix : {"codes.", "informational."}) {
    const std::string p = prefix;
    if (metric.size() > p.size() && metric.compare(0, p.size(), p) == 0) return true;
  }
  std::vector<std::pair<std::string, double>> leaves;
  flatten(summary_json(RunReport{}), "", leaves);
  for (const auto& [k, v] : leaves)
    if (k == metric) return true;
  return false;
}

Comparison compare(const Report& a, const Report& b) {
  Comparison c;
  std::set<std::size_t> used_b;
  for (std::size_t i = 0; i < a.runs.size(); ++i) {
    bool found = false;
    for (std::size_t j = 0; j < b.runs.size() && !found; ++j) {
      if (used_b.count(j) || pair_key(a.runs[i]) != pair_key(b.runs[j])) continue;
      RunPair p;
      p.key = parameters_text(a.runs[i].parameters);
      p.index_a = i;
      p.index_b = j;
      compare_runs(p, a.runs[i], b.runs[j]);
      c.pairs.push_back(std::move(p));
      used_b.insert(j);
      found = true;
    }
    if (!found) c.only_in_a.push_back(run_label(a.runs[i]));
  }
  for (std::size_t j = 0; j < b.runs.size(); ++j)
    if (!used_b.count(j)) c.only_in_b.push_back(run_label(b.runs[j]));
  // Two single-run reports with different parameters are still one comparison.
  if (c.pairs.empty() && a.runs.size() == 1 && b.runs.size() == 1) {
    RunPair p;
    p.key = parameters_text(a.runs[0].parameters) + " vs " + parameters_text(b.runs[0].parameters);
    compare_runs(p, a.runs[0], b.runs[0]);
    c.pairs.push_back(std::move(p));
    c.warnings.push_back("the runs' parameters differ (" + c.only_in_a[0] + " vs " + c.only_in_b[0] +
                         "); compared as one pair");
    c.only_in_a.clear();
    c.only_in_b.clear();
  }
  const std::string na = str_field(a.scenario, "name");
  const std::string nb = str_field(b.scenario, "name");
  if (na != nb) c.warnings.push_back("different scenarios: '" + na + "' vs '" + nb + "'");
  if (a.backend != b.backend) c.warnings.push_back("different backends: " + a.backend + " vs " + b.backend);
  return c;
}

json to_json(const Comparison& c) {
  json pairs = json::array();
  for (const auto& p : c.pairs) {
    json metrics = json::array();
    for (const auto& m : p.metrics) {
      json jm = {{"metric", m.metric}, {"a", m.a}, {"b", m.b}, {"delta", m.delta},
                 {"change_pct", m.relative ? json(*m.relative * 100) : json(m.delta > 0 ? "+inf" : "-inf")},
                 {"test", m.test}, {"p", m.p ? json(*m.p) : json(nullptr)}, {"significant", m.significant}};
      if (m.ci_a) jm["ci95_a"] = {m.ci_a->low, m.ci_a->high};
      if (m.ci_b) jm["ci95_b"] = {m.ci_b->low, m.ci_b->high};
      metrics.push_back(jm);
    }
    pairs.push_back({{"parameters", p.key}, {"run_a", p.index_a}, {"run_b", p.index_b}, {"metrics", metrics},
                     {"latency_test", {{"test", "mann-whitney"}, {"n_a", p.latency_n_a}, {"n_b", p.latency_n_b},
                                       {"u", p.latency.u}, {"z", p.latency.z}, {"p", p.latency.p},
                                       {"prob_a_greater", p.latency.prob_a_greater}, {"valid", p.latency.valid},
                                       {"serial_correlation_a", p.latency.serial_a},
                                       {"serial_correlation_b", p.latency.serial_b},
                                       {"n_eff_a", p.latency.n_eff_a}, {"n_eff_b", p.latency.n_eff_b}}}});
  }
  return {{"pairs", pairs}, {"only_in_a", c.only_in_a}, {"only_in_b", c.only_in_b}, {"warnings", c.warnings},
          {"significant_changes", c.significant_changes()},
          {"criterion", {{"p_below", kSignificanceP}, {"effect_above", kSignificanceEffect},
                         {"latency_ms_at_least", kLatencyFloorMs}}}};
}

std::string render_compare_text(const Comparison& c, const Report& a, const Report& b) {
  std::ostringstream o;
  o << "A: " << (str_field(a.scenario, "name")) << " run " << a.run_id << " ("
    << a.started_at << ")\nB: " << (str_field(b.scenario, "name")) << " run "
    << b.run_id << " (" << b.started_at << ")\n";
  for (const auto& w : c.warnings) o << "warning: " << w << "\n";
  for (const auto& p : c.pairs) {
    o << "\n" << (p.key.empty() ? "run" : p.key) << "\n";
    char line[512];
    std::snprintf(line, sizeof line, "  %-44s %12s %12s %12s %9s %9s  %s\n", "metric", "A", "B", "delta", "change",
                  "p", "");
    o << line;
    for (const auto& m : p.metrics) {
      std::string pv = m.p ? fmt(*m.p) : "-";
      if (m.p && *m.p < 1e-4) pv = "<1e-4";
      std::snprintf(line, sizeof line, "  %-44s %12s %12s %12s %9s %9s  %s\n", m.metric.c_str(), fmt(m.a).c_str(),
                    fmt(m.b).c_str(), fmt(m.delta).c_str(), change_text(m).c_str(), pv.c_str(),
                    m.significant ? "SIGNIFICANT" : "");
      o << line;
    }
    if (p.latency.valid)
      o << "  latency: Mann-Whitney U " << fmt(p.latency.u) << " (n " << p.latency_n_a << " / " << p.latency_n_b
        << ", effective " << fmt(p.latency.n_eff_a) << " / " << fmt(p.latency.n_eff_b)
        << " for serial correlation), p " << fmt(p.latency.p) << ", P(A > B) " << fmt(p.latency.prob_a_greater) << "\n";
  }
  for (const auto& r : c.only_in_a) o << "\nonly in A: " << r << "\n";
  for (const auto& r : c.only_in_b) o << "\nonly in B: " << r << "\n";
  o << "\n" << c.significant_changes() << " significant change(s) (p < " << kSignificanceP << " and |change| > "
    << kSignificanceEffect * 100 << "%, and >= " << kLatencyFloorMs << " ms for latencies)\n";
  return o.str();
}

}  // namespace ist::reports
