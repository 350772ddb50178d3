#include "reports/merge_generators.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "reports/timeline_metrics.hpp"

namespace ist::reports {
namespace {

// How bad an outcome is: the merged point takes the worst of its generators'.
int severity(const std::string& outcome) {
  if (outcome == "harness-fault") return 4;
  if (outcome == "sut-died") return 3;
  if (outcome == "sut-unresponsive") return 2;
  if (outcome == "interrupted") return 1;
  return 0;  // complete
}

void add(Rekeys& to, const Rekeys& r) {
  to.ike += r.ike;
  to.child += r.child;
}

void add_summary(Summary& to, const Summary& s) {
  to.peers += s.peers;
  to.established += s.established;
  to.failed += s.failed;
  to.setup_rate_per_s += s.setup_rate_per_s;  // concurrent generators: their rates add up
  to.tunnel_attempts_per_s += s.tunnel_attempts_per_s;
  add(to.rekeys, s.rekeys);
  add(to.rekeys_in_hold, s.rekeys_in_hold);
  to.renegotiations_per_min += s.renegotiations_per_min;
  to.renegotiations_per_min_wall += s.renegotiations_per_min_wall;
  to.cpu_s.peers += s.cpu_s.peers;
  to.cpu_s.harness += s.cpu_s.harness;
  to.rss_mb.peers += s.rss_mb.peers;
  to.rss_mb.harness += s.rss_mb.harness;
  to.unclassified += s.unclassified;
  to.leaks += s.leaks;
  to.unclassified_attempts += s.unclassified_attempts;
  to.harness_faults += s.harness_faults;
  to.abandoned += s.abandoned;
  to.lost += s.lost;
  to.sut_survived = std::min(to.sut_survived, s.sut_survived);
  // The gateway's own view is one gateway's: each generator read the same counts.
  to.cpu_s.sut = std::max(to.cpu_s.sut, s.cpu_s.sut);
  to.rss_mb.sut = std::max(to.rss_mb.sut, s.rss_mb.sut);
  to.sut_ike_sas_at_connect_end = std::max(to.sut_ike_sas_at_connect_end, s.sut_ike_sas_at_connect_end);
  to.xfrm_states = std::max(to.xfrm_states, s.xfrm_states);
  to.wall_s = std::max(to.wall_s, s.wall_s);
}

void add_codes(std::map<std::string, CodeCount>& to, const std::map<std::string, CodeCount>& from) {
  for (const auto& [name, c] : from) {
    to[name].peers += c.peers;
    to[name].attempts += c.attempts;
  }
}

template <class T>
void append_capped(std::vector<T>& to, const std::vector<T>& from, std::size_t cap) {
  for (const auto& x : from) {
    if (to.size() >= cap) return;
    to.push_back(x);
  }
}

// Per second on the shared clock: the peers' counts summed, the gateway's sample once.
std::vector<TimeseriesPoint> fold_timeseries(const std::vector<const RunReport*>& runs) {
  std::map<long long, TimeseriesPoint> by_second;
  for (const RunReport* r : runs) {
    for (const TimeseriesPoint& p : r->timeseries) {
      const long long second = std::llround(p.t_s);
      auto [it, fresh] = by_second.try_emplace(second);
      TimeseriesPoint& to = it->second;
      if (fresh) to.t_s = static_cast<double>(second);
      to.ike_active += p.ike_active;
      to.ike_pending += p.ike_pending;
      to.ike_failed += p.ike_failed;
      to.child_active += p.child_active;
      to.child_pending += p.child_pending;
      to.child_failed += p.child_failed;
      to.established_total += p.established_total;
      to.attempts += p.attempts;
      to.ike_rekeys += p.ike_rekeys;
      to.child_rekeys += p.child_rekeys;
      for (const auto& [k, v] : p.xfrm_stat) to.xfrm_stat[k] += v;
      if (!to.sut && p.sut) to.sut = p.sut;
      for (const auto& [role, sample] : p.xfrm) to.xfrm.try_emplace(role, sample);
    }
  }
  std::vector<TimeseriesPoint> out;
  out.reserve(by_second.size());
  for (auto& [_, p] : by_second) out.push_back(std::move(p));
  return out;
}

// The scenario as the generators of one run share it: each gives its own target.local (and
// its node's target.interface) with --set, the rest is the same for all.
nlohmann::json shared_part(nlohmann::json scenario) {
  if (scenario.contains("target") && scenario["target"].is_object()) {
    scenario["target"].erase("local");
    scenario["target"].erase("interface");
  }
  return scenario;
}

}  // namespace

Result<bool> are_generator_reports(const std::vector<ShardInput>& inputs) {
  std::size_t generators = 0;
  for (const auto& in : inputs) generators += in.report.generator.has_value();
  if (generators != 0 && generators != inputs.size())
    return Error("merge: some reports are generator reports (--generator) and some are not; merge the generators "
                 "of one run, or the shards of one sweep");
  return generators != 0;
}

RunReport fold_generator_runs(const std::vector<const RunReport*>& runs) {
  RunReport out;
  if (runs.empty()) return out;
  const RunReport& first = *runs.front();
  out.parameters = first.parameters;
  out.effective = first.effective;
  out.folder = first.folder;
  out.expectations = first.expectations;  // as written; the caller judges them again on the whole
  out.summary.sut_survived = 1;
  for (const RunReport* r : runs) {
    add_summary(out.summary, r->summary);
    add_codes(out.codes, r->codes);
    add_codes(out.informational, r->informational);
    append_capped(out.failures, r->failures, kMaxFailureRecords);
    append_capped(out.unclassified, r->unclassified, kMaxRawRecords);
    append_capped(out.harness_faults, r->harness_faults, kMaxRawRecords);
    if (!out.sut_death && r->sut_death) out.sut_death = r->sut_death;
    out.sut_unresponsive.insert(out.sut_unresponsive.end(), r->sut_unresponsive.begin(), r->sut_unresponsive.end());
    out.setup_latency_samples.insert(out.setup_latency_samples.end(), r->setup_latency_samples.begin(),
                                     r->setup_latency_samples.end());
    out.peers.insert(out.peers.end(), r->peers.begin(), r->peers.end());
    if (severity(r->outcome) > severity(out.outcome)) out.outcome = r->outcome;
    for (const auto& n : r->notes)
      if (std::find(out.notes.begin(), out.notes.end(), n) == out.notes.end()) out.notes.push_back(n);
  }
  out.summary.established_ratio =
      out.summary.peers == 0 ? 0 : static_cast<double>(out.summary.established) / static_cast<double>(out.summary.peers);
  out.summary.setup_latency_ms = summarize_latency(out.setup_latency_samples);
  out.timeseries = fold_timeseries(runs);
  // Peaks and per-second rekey rates of the whole: from the folded seconds, not summed peaks.
  summarize_timeline(out.timeseries, out.summary);
  std::sort(out.sut_unresponsive.begin(), out.sut_unresponsive.end(),
            [](const SutUnresponsive& a, const SutUnresponsive& b) { return a.from_ms < b.from_ms; });
  return out;
}

Result<Report> merge_generator_reports(const std::vector<ShardInput>& inputs, const std::string& command) {
  if (inputs.empty()) return Error("merge: no reports given");
  const ShardInput& first = inputs.front();
  const GeneratorInfo& g0 = *first.report.generator;
  if (g0.count < 1 || g0.count > kMaxMergedGenerators)
    return Error("merge: " + first.source + " says it is one of " + std::to_string(g0.count) +
                 " generators (1 .. " + std::to_string(kMaxMergedGenerators) + ")");
  std::vector<const ShardInput*> by_index(g0.count + 1, nullptr);
  for (const auto& in : inputs) {
    const Report& r = in.report;
    const GeneratorInfo& g = *r.generator;
    const std::string who = in.source + " (generator " + std::to_string(g.index) + "/" + std::to_string(g.count) + ")";
    if (g.count != g0.count)
      return Error("merge: " + who + " is one of " + std::to_string(g.count) + " generators, " + first.source +
                   " one of " + std::to_string(g0.count));
    if (shared_part(r.scenario) != shared_part(first.report.scenario))
      return Error("merge: " + who + " ran a different scenario than " + first.source +
                   " (target.local and target.interface may differ); only the generators of one run merge");
    if (g.start_at != g0.start_at)
      return Error("merge: " + who + " started at " + (g.start_at.empty() ? "no --start-at" : g.start_at) + ", " +
                   first.source + " at " + (g0.start_at.empty() ? "no --start-at" : g0.start_at) +
                   "; only the generators of one run merge");
    if (r.backend != first.report.backend)
      return Error("merge: " + who + " used backend " + r.backend + ", " + first.source + " used " +
                   first.report.backend);
    if (g.index < 1 || g.index > g0.count) return Error("merge: " + who + " has no place among them");
    if (by_index[g.index] != nullptr)
      return Error("merge: generator " + std::to_string(g.index) + " is both " + by_index[g.index]->source + " and " +
                   in.source);
    by_index[g.index] = &in;
  }
  std::string missing;
  for (std::uint32_t i = 1; i <= g0.count; ++i)
    if (by_index[i] == nullptr) missing += (missing.empty() ? "" : ", ") + std::to_string(i);
  if (!missing.empty())
    return Error("merge: generator(s) " + missing + " of " + std::to_string(g0.count) +
                 " missing: a merged report of part of the load would read as the whole");

  Report out = merged_head(first.report, command);
  std::map<std::string, std::vector<const RunReport*>> points;  // folder -> each generator's run
  std::vector<std::string> order;
  for (std::uint32_t i = 1; i <= g0.count; ++i) {
    const ShardInput& in = *by_index[i];
    const Report& r = in.report;
    out.real_xfrm = out.real_xfrm || r.real_xfrm;
    if (!r.started_at.empty() && r.started_at < out.started_at) out.started_at = r.started_at;
    out.run_id += (out.run_id.empty() ? "" : "+") + r.run_id;
    out.merged_from.push_back({r.run_id, r.started_at, r.command, in.source});
    GeneratorRow row{*r.generator, r.run_id, in.source, r.runs.empty() ? "" : r.runs.front().outcome, 0,
                     r.runs.empty() ? 0 : r.runs.front().summary.setup_rate_per_s};
    for (const auto& run : r.runs) {
      row.established += run.summary.established;
      auto& list = points[run.folder];
      if (list.empty()) order.push_back(run.folder);
      list.push_back(&run);
    }
    out.generators.push_back(std::move(row));
  }
  for (const auto& folder : order) {
    if (points[folder].size() != g0.count)
      return Error("merge: point " + folder + " is in " + std::to_string(points[folder].size()) + " of the " +
                   std::to_string(g0.count) + " generator reports");
    out.runs.push_back(fold_generator_runs(points[folder]));
  }
  if (out.runs.empty()) return Error("merge: the reports hold no runs");
  return out;
}

}  // namespace ist::reports
