#include "reports/html.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "reports/escape.hpp"
#include "reports/json_util.hpp"
#include "reports/number_text.hpp"
#include "reports/page_assets.hpp"

namespace ist::reports {

using nlohmann::json;

namespace {

// Tables stay readable in a browser: the rest is in report.json.
constexpr std::size_t kMaxPeerRows = 500;
constexpr std::size_t kMaxFailureRows = 500;

std::string num(double v, int prec = 1) { return format_fixed(v, prec); }

std::string esc(std::string_view s) { return html_escape(s); }

std::string json_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// A JSON scalar or small value for a table cell.
std::string cell_value(const json& v) {
  if (v.is_number_float()) {
    std::string s = num(v.get<double>(), 4);
    while (s.size() > 1 && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    return s;
  }
  return json_text(v);
}

void card(std::ostringstream& o, const std::string& key, const std::string& value, const char* cls = "") {
  o << "<div class=\"card " << cls << "\"><div class=\"v\">" << esc(value) << "</div><div class=\"k\">"
    << esc(key) << "</div></div>\n";
}

// name -> what the page shows: the lookup first, then the run's own failure records.
CodeInfo describe_code(const std::string& name, const RunReport& run, const CodeLookup& lookup) {
  if (lookup)
    if (auto c = lookup(name)) return *c;
  CodeInfo c;
  c.name = name;
  for (const auto& f : run.failures)
    if (f.code.name == name) {
      c.value = f.code.value;
      c.hex = f.code.hex;
      break;
    }
  return c;
}

void code_table(std::ostringstream& o, const std::map<std::string, CodeCount>& codes, const RunReport& run,
                const CodeLookup& lookup, bool with_exactness) {
  o << "<table class=\"codes\"><tr><th>code</th><th>value</th><th>hex</th><th>peers</th><th>attempts</th>";
  if (with_exactness) o << "<th>mapping</th>";
  o << "<th>documented text</th></tr>\n";
  for (const auto& [name, count] : codes) {
    CodeInfo c = describe_code(name, run, lookup);
    std::string mapping;
    if (with_exactness) {
      bool exact = false, approx = false;
      for (const auto& f : run.failures)
        if (f.code.name == name) (f.exact ? exact : approx) = true;
      mapping = exact && approx ? "exact + approximate" : approx ? "approximate" : exact ? "exact" : "";
    }
    o << "<tr><td>" << esc(name) << "</td><td class=\"num\">" << (c.value ? std::to_string(c.value) : "")
      << "</td><td>" << esc(c.hex) << "</td><td class=\"num\">" << count.peers << "</td><td class=\"num\">"
      << count.attempts << "</td>";
    if (with_exactness) o << "<td>" << esc(mapping) << "</td>";
    o << "<td>" << esc(c.description) << "</td></tr>\n";
  }
  o << "</table>\n";
}

void expectations_table(std::ostringstream& o, const RunReport& run) {
  if (run.expectations.empty()) {
    o << "<p class=\"muted\">No expectations.</p>\n";
    return;
  }
  o << "<table class=\"expectations\"><tr><th>expectation</th><th>observed</th><th>result</th></tr>\n";
  for (const auto& e : run.expectations)
    o << "<tr><td>" << esc(e.expr) << "</td><td class=\"num\">" << esc(cell_value(e.observed)) << "</td><td class=\""
      << (e.ok ? "ok\">met" : "bad\">FAILED") << "</td></tr>\n";
  o << "</table>\n";
}

void failures_table(std::ostringstream& o, const RunReport& run) {
  if (run.failures.empty()) return;
  o << "<details><summary>Failure records (" << run.failures.size() << ")</summary>\n"
    << "<table class=\"failures\"><tr><th>t (ms)</th><th>peer</th><th>address</th><th>side</th><th>SA</th>"
       "<th>exchange</th><th>code</th><th>mapping</th><th>evidence</th></tr>\n";
  for (std::size_t i = 0; i < run.failures.size() && i < kMaxFailureRows; ++i) {
    const auto& f = run.failures[i];
    o << "<tr><td class=\"num\">" << num(f.t_ms, 1) << "</td><td>" << esc(f.peer) << "</td><td>" << esc(f.address)
      << "</td><td>" << esc(f.side) << "</td><td>" << esc(f.sa) << "</td><td>" << esc(f.exchange) << "</td><td>"
      << esc(f.code.name) << " " << esc(f.code.hex) << "</td><td>" << (f.exact ? "exact" : "approximate")
      << "</td><td>";
    for (const auto& ev : f.evidence) o << "<div class=\"timeline\">" << esc(ev) << "</div>";
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  if (run.failures.size() > kMaxFailureRows)
    o << "<p class=\"muted\">" << (run.failures.size() - kMaxFailureRows) << " more in report.json.</p>\n";
  o << "</details>\n";
}

// Records without a Windows code (unclassified, harness faults): what no rule names is shown
// with its raw evidence rather than hidden.
void raw_table(std::ostringstream& o, const std::vector<RawRecord>& records, const char* title, bool open) {
  if (records.empty()) return;
  o << "<details" << (open ? " open" : "") << "><summary>" << title << " (" << records.size() << ")</summary>\n"
    << "<table class=\"failures\"><tr><th>t (ms)</th><th>peer</th><th>address</th><th>side</th><th>SA</th>"
       "<th>exchange</th><th>evidence</th></tr>\n";
  for (std::size_t i = 0; i < records.size() && i < kMaxFailureRows; ++i) {
    const auto& f = records[i];
    o << "<tr><td class=\"num\">" << num(f.t_ms, 1) << "</td><td>" << esc(f.peer) << "</td><td>" << esc(f.address)
      << "</td><td>" << esc(f.side) << "</td><td>" << esc(f.sa) << "</td><td>" << esc(f.exchange) << "</td><td>";
    for (const auto& ev : f.evidence) o << "<div class=\"timeline\">" << esc(ev) << "</div>";
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  if (records.size() > kMaxFailureRows)
    o << "<p class=\"muted\">" << (records.size() - kMaxFailureRows) << " more in report.json.</p>\n";
  o << "</details>\n";
}

// How the SUT ended, when it did not survive: first thing on the page after the outcome.
void sut_fate(std::ostringstream& o, const RunReport& run) {
  if (run.sut_death) {
    const auto& d = *run.sut_death;
    o << "<p class=\"bad\">The SUT died at " << num(d.t_ms / 1000.0) << " s: " << esc(d.how) << "; "
      << run.summary.lost << " peer(s) that were up lost their SAs.</p>\n";
    const auto& lines = d.backtrace.empty() ? d.log_tail : d.backtrace;
    if (!lines.empty()) {
      o << "<details open><summary>" << (d.backtrace.empty() ? "The last lines of its log" : "Its backtrace")
        << "</summary><pre>";
      for (const auto& l : lines) o << esc(l) << "\n";
      o << "</pre></details>\n";
    }
  }
  for (const auto& u : run.sut_unresponsive)
    o << "<p class=\"bad\">The SUT was unresponsive from " << num(u.from_ms / 1000.0) << " s to "
      << num(u.to_ms / 1000.0) << " s: no vici answer, no IKE answer, no CPU spent.</p>\n";
}

void peers_table(std::ostringstream& o, const RunReport& run) {
  if (run.peers.empty()) return;
  // Peers that did not come up first: they are why someone opens this table.
  std::vector<const PeerTimeline*> order;
  for (const auto& p : run.peers) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(), [](const PeerTimeline* a, const PeerTimeline* b) {
    return (a->state != "established") > (b->state != "established");
  });
  std::size_t not_up = 0;
  for (const auto& p : run.peers) not_up += p.state != "established";
  o << "<details" << (not_up ? " open" : "") << "><summary>Peers (" << run.peers.size() << ", " << not_up
    << " not established)</summary>\n"
    << "<table class=\"peers\"><tr><th>peer</th><th>address</th><th>state</th><th>timeline (event @ ms since run start)</th></tr>\n";
  for (std::size_t i = 0; i < order.size() && i < kMaxPeerRows; ++i) {
    const auto& p = *order[i];
    const char* cls = p.state == "established" ? "ok" : p.state == "failed" ? "bad" : "warn";
    o << "<tr><td>" << esc(p.peer) << "</td><td>" << esc(p.address) << "</td><td class=\"" << cls << "\">"
      << esc(p.state) << "</td><td class=\"timeline\">";
    for (std::size_t k = 0; k < p.events.size(); ++k) {
      const auto& e = p.events[k];
      o << (k ? " &rarr; " : "") << esc(e.event) << "@" << num(e.t_ms, 1);
      if (!e.detail.empty()) o << " (" << esc(e.detail) << ")";
    }
    o << "</td></tr>\n";
  }
  o << "</table>\n";
  if (order.size() > kMaxPeerRows)
    o << "<p class=\"muted\">" << (order.size() - kMaxPeerRows) << " more peers in report.json.</p>\n";
  o << "</details>\n";
}

// peers.trap_traffic: the datagrams counted at both ends against what the kernels counted as
// dropped for want of an SA; then the peers that lost most, first. Nothing without trap traffic.
void trap_traffic_section(std::ostringstream& o, const RunReport& run) {
  if (!run.trap_traffic) return;
  const auto& t = *run.trap_traffic;
  o << "<h3>Trap traffic</h3>\n<table class=\"trap-traffic\">\n"
    << "<tr><th>peers sending</th><td class=\"num\">" << t.peers << "</td></tr>\n"
    << "<tr><th>datagrams sent</th><td class=\"num\">" << t.sent << "</td></tr>\n";
  if (t.send_errors)
    o << "<tr><th>sends the kernel refused</th><td class=\"num warn\">" << t.send_errors << "</td></tr>\n";
  o << "<tr><th>received by the SUT</th><td class=\"num\">" << t.received_by_sut << "</td></tr>\n"
    << "<tr><th>lost (sent - received)</th><td class=\"num" << (t.lost ? " bad" : "") << "\">" << t.lost
    << "</td></tr>\n";
  if (t.misrouted || t.unrecognized)
    o << "<tr><th>misrouted / unrecognized at the sink</th><td class=\"num warn\">" << t.misrouted << " / "
      << t.unrecognized << "</td></tr>\n";
  o << "<tr><th>XfrmOutNoStates, the peers' kernel</th><td class=\"num\">" << t.peers_xfrm_out_no_states
    << "</td></tr>\n"
    << "<tr><th>&hellip; of them after the connect phase</th><td class=\"num\">"
    << t.peers_xfrm_out_no_states_after_connect << "</td></tr>\n"
    << "<tr><th>XfrmInNoStates, the SUT's kernel</th><td class=\"num\">" << t.sut_xfrm_in_no_states << "</td></tr>\n"
    << "<tr><th>lost == XfrmOutNoStates</th><td class=\"" << (t.lost_is_no_state ? "ok\">yes" : "warn\">no")
    << (t.lost_is_no_state ? ": every lost datagram is one the peers' kernel dropped for want of an SA"
                           : ": not every lost datagram is one the peers' kernel dropped for want of an SA, so the drops "
                             "are not attributed per peer (see the notes)")
    << "</td></tr>\n</table>\n";
  if (run.trap_traffic_peers.empty()) return;
  std::vector<const TrapTrafficPeer*> order;
  for (const auto& p : run.trap_traffic_peers) order.push_back(&p);
  std::stable_sort(order.begin(), order.end(),
                   [](const TrapTrafficPeer* a, const TrapTrafficPeer* b) { return a->lost > b->lost; });
  o << "<details" << (t.lost ? " open" : "") << "><summary>Trap traffic per peer (" << order.size()
    << ", most lost first)</summary>\n"
    << "<table class=\"trap-traffic-peers\"><tr><th>peer</th><th>sent</th><th>received by the SUT</th><th>lost</th>"
       "<th>ACQUIREs</th></tr>\n";
  for (std::size_t i = 0; i < order.size() && i < kMaxPeerRows; ++i) {
    const auto& p = *order[i];
    o << "<tr><td>" << esc(p.peer) << "</td><td class=\"num\">" << p.sent << "</td><td class=\"num\">"
      << p.received_by_sut << "</td><td class=\"num" << (p.lost ? " bad" : "") << "\">" << p.lost
      << "</td><td class=\"num\">" << p.acquires << "</td></tr>\n";
  }
  o << "</table>\n";
  if (order.size() > kMaxPeerRows)
    o << "<p class=\"muted\">" << (order.size() - kMaxPeerRows) << " more peers in report.json.</p>\n";
  o << "</details>\n";
}

void run_section(std::ostringstream& o, const RunReport& run, std::size_t index, const CodeLookup& lookup) {
  const auto& s = run.summary;
  const std::string id = "r" + std::to_string(index);
  o << "<section class=\"run\" id=\"" << id << "\">\n<h2>" << esc(run_label(run)) << "</h2>\n";
  if (run.outcome != "complete") o << "<p class=\"bad\">outcome: " << esc(run.outcome) << "</p>\n";
  sut_fate(o, run);
  o << "<div class=\"cards\">\n";
  card(o, "peers", std::to_string(s.peers));
  card(o, "established", std::to_string(s.established) + " (" + num(100 * s.established_ratio) + "%)",
       s.established_ratio >= 1 ? "ok" : "bad");
  card(o, "failed", std::to_string(s.failed), s.failed ? "bad" : "ok");
  card(o, "setup rate", num(s.setup_rate_per_s) + "/s");
  card(o, "setup latency p50 / p99", num(s.setup_latency_ms.p50, 0) + " / " + num(s.setup_latency_ms.p99, 0) + " ms");
  card(o, "renegotiations (IKE " + std::to_string(s.rekeys.ike) + ", CHILD " + std::to_string(s.rekeys.child) + ")",
       num(s.renegotiations_per_min) + "/min");
  card(o, "renegotiations, wall clock", num(s.renegotiations_per_min_wall) + "/min");
  card(o, "tunnel attempts", num(s.tunnel_attempts_per_s) + "/s");
  card(o, "rekeys/s IKE peak / mean", num(s.rekeys_per_s.ike_peak, 0) + " / " + num(s.rekeys_per_s.ike_mean, 2));
  card(o, "rekeys/s CHILD peak / mean", num(s.rekeys_per_s.child_peak, 0) + " / " + num(s.rekeys_per_s.child_mean, 2));
  card(o, "peak IKE SAs active / pending",
       std::to_string(s.peak_sas.ike_active) + " / " + std::to_string(s.peak_sas.ike_pending));
  card(o, "peak CHILD SAs active / pending",
       std::to_string(s.peak_sas.child_active) + " / " + std::to_string(s.peak_sas.child_pending));
  card(o, "SUT peak half-open / queued jobs",
       std::to_string(s.sut_peak.half_open) + " / " + std::to_string(s.sut_peak.jobs_queued));
  if (const auto& f = s.time_to_first_packet_ms)
    card(o, "time to first packet p50 / p99 / max",
         num(f->p50, 1) + " / " + num(f->p99, 1) + " / " + num(f->max, 1) + " ms");
  if (const auto& d = s.dos_resilience)
    card(o, "DoS resilience: setups/s before / during the flood",
         num(d->setup_rate_before_per_s, 1) + " / " + num(d->setup_rate_during_per_s, 1) +
             (d->ratio ? " (ratio " + num(*d->ratio, 2) + ")" : std::string(" (no baseline)")));
  if (const auto& t = run.trap_traffic)
    card(o, "trap traffic lost / sent", std::to_string(t->lost) + " / " + std::to_string(t->sent), t->lost ? "bad" : "ok");
  card(o, "CPU SUT / peers / harness", num(s.cpu_s.sut, 2) + " / " + num(s.cpu_s.peers, 2) + " / " + num(s.cpu_s.harness, 2) + " s");
  card(o, "peak RSS SUT / peers", num(s.rss_mb.sut) + " / " + num(s.rss_mb.peers) + " MB");
  card(o, "unclassified failures", std::to_string(s.unclassified), s.unclassified ? "bad" : "");
  if (s.harness_faults) card(o, "harness faults", std::to_string(s.harness_faults), "bad");
  if (s.abandoned) card(o, "abandoned attempts", std::to_string(s.abandoned));
  card(o, "leaked resources", std::to_string(s.leaks), s.leaks ? "bad" : "ok");
  o << "</div>\n<h3>Expectations</h3>\n";
  expectations_table(o, run);
  o << "<div class=\"charts\">\n"
    << "<div class=\"chart\" id=\"" << id << "-sas\"></div>\n"
    << "<div class=\"chart\" id=\"" << id << "-rate\"></div>\n"
    << "<div class=\"chart\" id=\"" << id << "-latency\"></div>\n"
    << "<div class=\"chart\" id=\"" << id << "-rekeys\"></div>\n"
    << "<div class=\"chart\" id=\"" << id << "-sut\"></div>\n</div>\n";
  o << "<h3>Failures by Windows code</h3>\n";
  if (run.codes.empty()) o << "<p class=\"muted\">No failures were classified.</p>\n";
  else code_table(o, run.codes, run, lookup, true);
  if (!run.informational.empty()) {
    o << "<h3>Informational codes</h3>\n";
    code_table(o, run.informational, run, lookup, false);
  }
  trap_traffic_section(o, run);
  failures_table(o, run);
  raw_table(o, run.unclassified, "Unclassified: failures no rule names", true);
  raw_table(o, run.harness_faults, "Harness faults: the harness's own side, no code", true);
  peers_table(o, run);
  if (!run.notes.empty()) {
    o << "<h3>Notes</h3>\n<ul class=\"notes\">\n";
    for (const auto& n : run.notes) o << "<li>" << esc(n) << "</li>\n";
    o << "</ul>\n";
  }
  o << "<details><summary>Effective settings</summary><pre>" << esc(run.effective.dump(2, ' ', false, json::error_handler_t::replace))
    << "</pre></details>\n</section>\n";
}

bool is_sweep(const Report& r) {
  if (r.runs.size() > 1) return true;
  return std::any_of(r.runs.begin(), r.runs.end(), [](const RunReport& run) {
    return run.parameters.is_object() && !run.parameters.empty();
  });
}

void sweep_section(std::ostringstream& o, const Report& r) {
  o << "<h2>Sweep</h2>\n<table class=\"sweep\"><tr><th>point</th><th>parameters</th><th>established</th>"
       "<th>failed</th><th>setup rate /s</th><th>latency p50 / p99 ms</th><th>renegotiations /min</th>"
       "<th>codes</th><th>expectations</th></tr>\n";
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const auto& run = r.runs[i];
    const auto& s = run.summary;
    std::size_t failed_expect = 0;
    for (const auto& e : run.expectations) failed_expect += !e.ok;
    std::string codes;
    for (const auto& [name, c] : run.codes) codes += (codes.empty() ? "" : ", ") + name + " " + std::to_string(c.peers);
    o << "<tr><td><a href=\"#r" << i << "\">" << esc(run.folder.empty() ? std::to_string(i + 1) : run.folder)
      << "</a></td><td>" << esc(parameters_text(run.parameters)) << "</td><td class=\"num\">" << s.established << "/"
      << s.peers << "</td><td class=\"num\">" << s.failed << "</td><td class=\"num\">" << num(s.setup_rate_per_s)
      << "</td><td class=\"num\">" << num(s.setup_latency_ms.p50, 0) << " / " << num(s.setup_latency_ms.p99, 0)
      << "</td><td class=\"num\">" << num(s.renegotiations_per_min) << "</td><td>" << esc(codes) << "</td><td class=\""
      << (failed_expect ? "bad\">" + std::to_string(failed_expect) + " failed" : std::string("ok\">all met"))
      << "</td></tr>\n";
  }
  o << "</table>\n<div class=\"charts\">\n<div class=\"chart\" id=\"sweep-reneg\"></div>\n"
       "<div class=\"chart\" id=\"sweep-failures\"></div>\n<div class=\"chart\" id=\"sweep-latency\"></div>\n"
       "<div class=\"chart\" id=\"sweep-cost\"></div>\n</div>\n";
}

// What the page script draws, in compact columns.
json chart_data(const Report& r) {
  json runs = json::array();
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const auto& run = r.runs[i];
    json ts = {{"t", json::array()},           {"ike_active", json::array()},   {"ike_pending", json::array()},
               {"ike_failed", json::array()},  {"child_active", json::array()}, {"child_pending", json::array()},
               {"child_failed", json::array()}, {"established_total", json::array()},
               {"attempts", json::array()},    {"ike_rekeys", json::array()},   {"child_rekeys", json::array()},
               {"sut_ike_sas", json::array()}, {"sut_half_open", json::array()}, {"sut_jobs_queued", json::array()},
               {"sut_cpu", json::array()}};
    for (const auto& p : run.timeseries) {
      ts["t"].push_back(p.t_s);
      ts["ike_active"].push_back(p.ike_active);
      ts["ike_pending"].push_back(p.ike_pending);
      ts["ike_failed"].push_back(p.ike_failed);
      ts["child_active"].push_back(p.child_active);
      ts["child_pending"].push_back(p.child_pending);
      ts["child_failed"].push_back(p.child_failed);
      ts["established_total"].push_back(p.established_total);
      ts["attempts"].push_back(p.attempts);
      ts["ike_rekeys"].push_back(p.ike_rekeys);
      ts["child_rekeys"].push_back(p.child_rekeys);
      // A second the SUT did not answer in is a gap (null), not a zero.
      ts["sut_ike_sas"].push_back(p.sut ? json(p.sut->ike_sas) : json(nullptr));
      ts["sut_half_open"].push_back(p.sut ? json(p.sut->half_open) : json(nullptr));
      ts["sut_jobs_queued"].push_back(p.sut ? json(p.sut->jobs_queued) : json(nullptr));
      ts["sut_cpu"].push_back(p.sut_cpu_s);
    }
    runs.push_back({{"id", "r" + std::to_string(i)}, {"timeseries", ts}, {"latency", run.setup_latency_samples}});
  }
  json out = {{"runs", runs}};
  if (is_sweep(r)) {
    std::set<std::string> axes;
    for (const auto& run : r.runs)
      if (run.parameters.is_object())
        for (auto& [k, v] : run.parameters.items()) axes.insert(k);
    std::string axis;
    for (const auto& a : axes) axis += (axis.empty() ? "" : ", ") + a;
    json sweep = {{"axis", axis.empty() ? "point" : axis}, {"labels", json::array()}, {"reneg", json::array()},
                  {"failed", json::array()}, {"unclassified", json::array()}, {"p50", json::array()},
                  {"p90", json::array()}, {"p99", json::array()}, {"cpu", json::array()}};
    for (const auto& run : r.runs) {
      // With one axis the label is its value; with several, every k=v.
      std::string label;
      if (axes.size() == 1 && run.parameters.contains(*axes.begin())) label = json_text(run.parameters[*axes.begin()]);
      else label = parameters_text(run.parameters);
      if (label.empty()) label = run.folder;
      sweep["labels"].push_back(label);
      sweep["reneg"].push_back(run.summary.renegotiations_per_min);
      sweep["failed"].push_back(run.summary.failed);
      sweep["unclassified"].push_back(run.summary.unclassified);
      sweep["p50"].push_back(run.summary.setup_latency_ms.p50);
      sweep["p90"].push_back(run.summary.setup_latency_ms.p90);
      sweep["p99"].push_back(run.summary.setup_latency_ms.p99);
      sweep["cpu"].push_back(run.summary.cpu_s.sut);
    }
    out["sweep"] = sweep;
  }
  return out;
}

}  // namespace

std::string parameters_text(const json& parameters) {
  std::string out;
  if (!parameters.is_object()) return out;
  for (auto& [k, v] : parameters.items()) out += (out.empty() ? "" : ", ") + k + "=" + json_text(v);
  return out;
}

std::string run_label(const RunReport& run) {
  std::string p = parameters_text(run.parameters);
  std::string name = run.folder.empty() ? "run" : run.folder;
  return p.empty() ? name : name + " (" + p + ")";
}

std::string render_html(const Report& r, const CodeLookup& lookup) {
  std::ostringstream o;
  const std::string name = str_field(r.scenario, "name");
  const std::string description = str_field(r.scenario, "description");
  o << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    << "<title>ikestorm report: " << esc(name) << " " << esc(r.run_id) << "</title>\n"
    << "<style>\n" << assets::kUplotCss << "\n" << assets::kPageCss << "</style>\n</head>\n<body>\n";
  o << "<header><h1>ikestorm: " << esc(name.empty() ? "run" : name) << "</h1>\n";
  if (!description.empty()) o << "<p>" << esc(description) << "</p>\n";
  o << "<p>run " << esc(r.run_id) << ", started " << esc(r.started_at) << ", ikestorm " << esc(r.tool_version)
    << "</p>\n<p><code>" << esc(r.command) << "</code></p></header>\n<main>\n";

  // Verdict and environment first: the questions people ask before any chart.
  std::size_t failed_expect = 0, total_expect = 0;
  uint64_t leaks = 0;
  bool incomplete = false;
  for (const auto& run : r.runs) {
    for (const auto& e : run.expectations) {
      ++total_expect;
      failed_expect += !e.ok;
    }
    leaks = std::max(leaks, run.summary.leaks);
    incomplete = incomplete || run.outcome != "complete";
  }
  o << "<div class=\"cards\">\n";
  card(o, "runs", std::to_string(r.runs.size()));
  card(o, "expectations met", std::to_string(total_expect - failed_expect) + " / " + std::to_string(total_expect),
       failed_expect ? "bad" : "ok");
  card(o, "leaked resources", std::to_string(leaks), leaks ? "bad" : "ok");
  card(o, "backend", r.backend);
  card(o, "real kernel XFRM SAs", r.real_xfrm ? "yes" : "no", r.real_xfrm ? "ok" : "");
  if (incomplete) card(o, "outcome", "incomplete", "bad");
  o << "</div>\n<table class=\"host\">\n"
    << "<tr><th>backend</th><td>" << esc(r.backend) << "</td></tr>\n"
    << "<tr><th>real_xfrm</th><td>" << (r.real_xfrm ? "true: SAs were kernel XFRM states"
                                                    : "false: SAs were not kernel XFRM states (userspace ESP)")
    << "</td></tr>\n"
    << "<tr><th>host kernel</th><td>" << esc(r.host.kernel) << "</td></tr>\n"
    << "<tr><th>SUT kernel</th><td>" << esc(r.host.sut_kernel) << "</td></tr>\n"
    << "<tr><th>CPU</th><td>" << esc(r.host.cpu) << "</td></tr>\n"
    << "<tr><th>strongSwan</th><td>" << esc(r.host.strongswan) << "</td></tr>\n</table>\n";

  if (is_sweep(r)) sweep_section(o, r);
  for (std::size_t i = 0; i < r.runs.size(); ++i) run_section(o, r.runs[i], i, lookup);

  // The scenario as the user wrote it; the document after --set (what ran) collapsed below.
  const std::string document = esc(r.scenario.dump(2, ' ', false, json::error_handler_t::replace));
  if (r.scenario_yaml.empty()) {  // a report from before scenario_yaml
    o << "<h2>Scenario</h2>\n<pre>" << document << "</pre>\n";
  } else {
    o << "<h2>Scenario</h2>\n<pre class=\"scenario-yaml\">" << esc(r.scenario_yaml) << "</pre>\n"
      << "<details><summary>Effective scenario (after --set, as JSON)</summary><pre>" << document
      << "</pre></details>\n";
  }
  o << "<details><summary class=\"muted\">Charts drawn with uPlot (MIT license), inlined</summary><pre>"
    << esc(assets::kUplotLicense) << "</pre></details>\n</main>\n";
  o << "<script type=\"application/json\" id=\"ist-data\">" << json_for_script(chart_data(r)) << "</script>\n"
    << "<script>\n" << assets::kUplotJs << "\n</script>\n<script>\n" << assets::kPageJs << "</script>\n</body>\n</html>\n";
  return o.str();
}

}  // namespace ist::reports
