#include "reports/search_html.hpp"

#include <algorithm>
#include <sstream>

#include "reports/escape.hpp"
#include "reports/number_text.hpp"
#include "reports/page_assets.hpp"

namespace ist::reports {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

double metric(const json& trial, const char* key) {
  const json& m = trial.value("metrics", json::object());
  auto it = m.find(key);
  return it != m.end() && it->is_number() ? it->get<double>() : 0.0;
}

void card(std::ostringstream& o, const std::string& k, const std::string& v, const char* cls = "") {
  o << "<div class=\"card " << cls << "\"><div class=\"v\">" << html_escape(v) << "</div><div class=\"k\">"
    << html_escape(k) << "</div></div>\n";
}

}  // namespace

std::string render_search_html(const json& s) {
  const std::string key = str(s, "key"), status = str(s, "status");
  const json frontier = s.value("frontier", json::object());
  const json trials = s.value("trials", json::array());
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<title>ikestorm search: " << html_escape(str(s, "scenario")) << " " << html_escape(key) << "</title>\n"
    << "<style>\n" << assets::kUplotCss << "\n" << assets::kPageCss << "</style>\n</head>\n<body>\n"
    << "<header><h1>ikestorm search: " << html_escape(str(s, "scenario")) << ", " << html_escape(key) << "</h1>\n"
    << "<p>" << html_escape(key) << " from " << html_escape(str(s, "from")) << " to " << html_escape(str(s, "to"))
    << " to within " << html_escape(str(s, "resolution")) << ", " << html_escape(str(s, "trials_per_value"))
    << " trial(s) in a row per value; started " << html_escape(str(s, "started_at")) << "</p>\n<p><code>"
    << html_escape(str(s, "command")) << "</code></p></header>\n<main>\n<div class=\"cards\">\n";
  const std::string pass = str(frontier, "highest_pass"), fail = str(frontier, "lowest_fail");
  card(o, "highest pass", pass.empty() ? "none" : pass, pass.empty() ? "bad" : "ok");
  card(o, "lowest fail", fail.empty() ? "none (--to passed)" : fail);
  card(o, "status", status, status == "found" ? "ok" : status == "running" ? "" : "bad");
  card(o, "trials", std::to_string(trials.size()));
  o << "</div>\n<table>\n<tr><th>trial</th><th>" << html_escape(key)
    << "</th><th>verdict</th><th>established</th><th>setup rate /s</th><th>latency p99 ms</th>"
       "<th>SUT CPU s</th><th>failed expectations</th><th>wall s</th></tr>\n";
  json x = json::array(), ratio = json::array(), rate = json::array(), p99 = json::array(), cpu = json::array();
  std::vector<const json*> by_value;
  for (const auto& t : trials) {
    const std::string folder = str(t, "folder"), verdict = str(t, "verdict");
    std::string failed;
    for (const auto& f : t.value("failed", json::array())) failed += (failed.empty() ? "" : "; ") + f.get<std::string>();
    o << "<tr><td><a href=\"" << html_escape(folder) << "/report.html\">" << html_escape(folder) << "</a></td><td>"
      << html_escape(str(t, "value")) << "</td><td class=\"" << (verdict == "pass" ? "ok" : "bad") << "\">"
      << html_escape(verdict) << "</td><td class=\"num\">" << format_fixed(100 * metric(t, "established_ratio"), 1)
      << "%</td><td class=\"num\">" << format_fixed(metric(t, "setup_rate_per_s"), 1) << "</td><td class=\"num\">"
      << format_fixed(metric(t, "setup_latency_ms_p99"), 0) << "</td><td class=\"num\">"
      << format_fixed(metric(t, "sut_cpu_s"), 2) << "</td><td>" << html_escape(failed) << "</td><td class=\"num\">"
      << format_fixed(t.value("wall_s", 0.0), 1) << "</td></tr>\n";
    if (t.value("metrics", json::object()).empty()) continue;  // a trial that measured nothing
    by_value.push_back(&t);
  }
  o << "</table>\n<div class=\"charts\">\n<div class=\"chart\" id=\"search-outcome\"></div>\n"
    << "<div class=\"chart\" id=\"search-cost\"></div>\n</div>\n";
  // The chart's x axis must rise: trials in value order (a repeated value keeps its last trial).
  std::stable_sort(by_value.begin(), by_value.end(),
                   [](const json* a, const json* b) { return a->value("value_base", 0.0) < b->value("value_base", 0.0); });
  for (const json* t : by_value) {
    const double v = t->value("value_base", 0.0);
    if (!x.empty() && x.back().get<double>() == v) {
      x.erase(x.size() - 1);
      ratio.erase(ratio.size() - 1);
      rate.erase(rate.size() - 1);
      p99.erase(p99.size() - 1);
      cpu.erase(cpu.size() - 1);
    }
    x.push_back(v);
    ratio.push_back(metric(*t, "established_ratio"));
    rate.push_back(metric(*t, "setup_rate_per_s"));
    p99.push_back(metric(*t, "setup_latency_ms_p99"));
    cpu.push_back(metric(*t, "sut_cpu_s"));
  }
  const json data = {{"runs", json::array()},
                     {"search", {{"key", key + " (" + str(s, "base_unit") + ")"}, {"x", x}, {"ratio", ratio},
                                 {"rate", rate}, {"p99", p99}, {"cpu", cpu}}}};
  o << "<details><summary class=\"muted\">Charts drawn with uPlot (MIT license), inlined</summary><pre>"
    << html_escape(assets::kUplotLicense) << "</pre></details>\n</main>\n"
    << "<script type=\"application/json\" id=\"ist-data\">" << json_for_script(data) << "</script>\n<script>\n"
    << assets::kUplotJs << "\n</script>\n<script>\n" << assets::kPageJs << "</script>\n</body>\n</html>\n";
  return o.str();
}

}  // namespace ist::reports
