// render_compare_html: the page `ikestorm compare --html FILE` writes.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reports/compare.hpp"
#include "reports/escape.hpp"
#include "reports/html.hpp"
#include "reports/json_util.hpp"
#include "reports/page_assets.hpp"

namespace ist::reports {

using nlohmann::json;

namespace {

std::string num(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char b[64];
  if (std::abs(v) >= 100 || v == std::floor(v)) std::snprintf(b, sizeof b, "%.1f", v);
  else std::snprintf(b, sizeof b, "%.3g", v);
  return b;
}

std::string side(const Report& r) {
  return str_field(r.scenario, "name") + " run " + r.run_id +
         " (" + r.started_at + ", " + r.backend + ")";
}

}  // namespace

std::string render_compare_html(const Comparison& c, const Report& a, const Report& b,
                                const std::vector<std::pair<std::string, bool>>& fail_on_results) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ikestorm compare</title>\n"
    << "<style>\n" << assets::kUplotCss << "\n" << assets::kPageCss << "</style>\n</head>\n<body>\n"
    << "<header><h1>ikestorm compare</h1>\n<p>A: " << html_escape(side(a)) << "</p>\n<p>B: " << html_escape(side(b))
    << "</p></header>\n<main>\n<div class=\"cards\">\n"
    << "<div class=\"card\"><div class=\"v\">" << c.pairs.size() << "</div><div class=\"k\">paired runs</div></div>\n"
    << "<div class=\"card " << (c.significant_changes() ? "bad" : "ok") << "\"><div class=\"v\">"
    << c.significant_changes() << "</div><div class=\"k\">significant changes (p &lt; " << kSignificanceP
    << ", |change| &gt; " << kSignificanceEffect * 100 << "%, latencies by &ge; " << kLatencyFloorMs
    << " ms)</div></div>\n";
  std::size_t tripped = 0;
  for (const auto& [expr, t] : fail_on_results) tripped += t;
  if (!fail_on_results.empty())
    o << "<div class=\"card " << (tripped ? "bad" : "ok") << "\"><div class=\"v\">" << tripped << " / "
      << fail_on_results.size() << "</div><div class=\"k\">--fail-on tripped</div></div>\n";
  o << "</div>\n";
  for (const auto& w : c.warnings) o << "<p class=\"warn\">" << html_escape(w) << "</p>\n";
  if (!fail_on_results.empty()) {
    o << "<table><tr><th>--fail-on</th><th>result</th></tr>\n";
    for (const auto& [expr, t] : fail_on_results)
      o << "<tr><td>" << html_escape(expr) << "</td><td class=\"" << (t ? "bad\">tripped" : "ok\">held") << "</td></tr>\n";
    o << "</table>\n";
  }
  json pairs = json::array();
  for (std::size_t i = 0; i < c.pairs.size(); ++i) {
    const auto& p = c.pairs[i];
    const std::string id = "p" + std::to_string(i);
    o << "<section class=\"run\"><h2>" << html_escape(p.key.empty() ? "run" : p.key) << "</h2>\n"
      << "<table><tr><th>metric</th><th>A</th><th>B</th><th>delta</th><th>change</th><th>95% interval A</th>"
         "<th>95% interval B</th><th>test</th><th>p</th><th></th></tr>\n";
    for (const auto& m : p.metrics) {
      char change[32];
      if (m.relative) std::snprintf(change, sizeof change, "%+.1f%%", *m.relative * 100);
      else std::snprintf(change, sizeof change, "%s", m.delta > 0 ? "+inf" : "-inf");
      auto ci = [](const std::optional<stats::Interval>& iv) {
        return iv ? num(iv->low) + " &ndash; " + num(iv->high) : std::string();
      };
      o << "<tr" << (m.significant ? " class=\"sig\"" : "") << "><td>" << html_escape(m.metric) << "</td><td class=\"num\">"
        << num(m.a) << "</td><td class=\"num\">" << num(m.b) << "</td><td class=\"num\">" << num(m.delta)
        << "</td><td class=\"num\">" << change << "</td><td class=\"num\">" << ci(m.ci_a) << "</td><td class=\"num\">"
        << ci(m.ci_b) << "</td><td>" << m.test << "</td><td class=\"num\">" << (m.p ? num(*m.p) : "") << "</td><td"
        << (m.significant ? " class=\"bad\">significant" : ">") << "</td></tr>\n";
    }
    o << "</table>\n";
    if (p.latency.valid)
      o << "<p>Setup latency: Mann-Whitney U = " << num(p.latency.u) << " (n " << p.latency_n_a << " / "
        << p.latency_n_b << "), z = " << num(p.latency.z) << ", p = " << num(p.latency.p) << ", P(A &gt; B) = "
        << num(p.latency.prob_a_greater) << "</p>\n";
    o << "<div class=\"charts\"><div class=\"chart\" id=\"" << id << "-cdf\"></div></div>\n</section>\n";
    pairs.push_back({{"id", id}, {"a", a.runs.at(p.index_a).setup_latency_samples},
                     {"b", b.runs.at(p.index_b).setup_latency_samples}});
  }
  for (const auto& r : c.only_in_a) o << "<p class=\"warn\">only in A: " << html_escape(r) << "</p>\n";
  for (const auto& r : c.only_in_b) o << "<p class=\"warn\">only in B: " << html_escape(r) << "</p>\n";
  o << "<details><summary class=\"muted\">Charts drawn with uPlot (MIT license), inlined</summary><pre>"
    << html_escape(assets::kUplotLicense) << "</pre></details>\n</main>\n"
    << "<script type=\"application/json\" id=\"ist-data\">"
    << json_for_script(json{{"runs", json::array()}, {"pairs", pairs}}) << "</script>\n<script>\n"
    << assets::kUplotJs << "\n</script>\n<script>\n" << assets::kPageJs << "</script>\n</body>\n</html>\n";
  return o.str();
}

}  // namespace ist::reports
