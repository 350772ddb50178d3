#include "reports/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "common/file_write.hpp"

namespace ist::reports {

using nlohmann::json;

// nlohmann's ADL hooks; the macros keep field names and members in one place.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LatencySummary, p50, p90, p99, max)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PerRole, sut, peers, harness)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Rekeys, ike, child)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RekeyRates, ike_peak, ike_mean, child_peak, child_mean)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PeakSas, ike_active, ike_pending, child_active, child_pending)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SutPeaks, half_open, jobs_queued)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Summary, peers, established, established_ratio, failed,
                                                setup_rate_per_s, setup_latency_ms, rekeys,
                                                renegotiations_per_min, renegotiations_per_min_wall,
                                                cpu_s, rss_mb, unclassified, leaks,
                                                sut_ike_sas_at_connect_end, xfrm_states, wall_s,
                                                unclassified_attempts, harness_faults, abandoned, lost,
                                                sut_survived, rekeys_in_hold, tunnel_attempts_per_s,
                                                rekeys_per_s, peak_sas, sut_peak)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CodeCount, peers, attempts)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CodeRef, name, value, hex)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Failure, peer, address, side, sa, exchange, t_ms, code,
                                                exact, evidence)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(RawRecord, peer, address, side, sa, exchange, t_ms, evidence)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SutDeath, t_ms, how, log_tail, backtrace)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SutUnresponsive, from_ms, to_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PeerEvent, t_ms, event, detail)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PeerTimeline, peer, address, state, events)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SutSample, ike_sas, half_open, jobs_queued, workers_idle)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GeneratorInfo, index, count, start_at, start_skew_ms, first_peer,
                                                peers, peers_prefix, inner_prefix)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GeneratorRow, generator, run_id, source, outcome, established,
                                                setup_rate_per_s)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(XfrmSample, sas, policies_in, policies_out, policies_fwd, acquires,
                                                expires, xfrm_stat)

void to_json(json& j, const TimeseriesPoint& p) {
  j = json{{"t_s", p.t_s},
           {"ike_active", p.ike_active},
           {"ike_pending", p.ike_pending},
           {"ike_failed", p.ike_failed},
           {"child_active", p.child_active},
           {"child_pending", p.child_pending},
           {"child_failed", p.child_failed},
           {"established_total", p.established_total},
           {"attempts", p.attempts},
           {"ike_rekeys", p.ike_rekeys},
           {"child_rekeys", p.child_rekeys},
           {"sut_cpu_s", p.sut_cpu_s},
           {"xfrm_stat", p.xfrm_stat}};
  if (p.sut) j["sut"] = *p.sut;
  if (!p.xfrm.empty()) j["xfrm"] = p.xfrm;
}

void from_json(const json& j, TimeseriesPoint& p) {
  const TimeseriesPoint d;
  p.t_s = j.value("t_s", d.t_s);
  p.ike_active = j.value("ike_active", d.ike_active);
  p.ike_pending = j.value("ike_pending", d.ike_pending);
  p.ike_failed = j.value("ike_failed", d.ike_failed);
  p.child_active = j.value("child_active", d.child_active);
  p.child_pending = j.value("child_pending", d.child_pending);
  p.child_failed = j.value("child_failed", d.child_failed);
  p.established_total = j.value("established_total", d.established_total);
  p.attempts = j.value("attempts", d.attempts);
  p.ike_rekeys = j.value("ike_rekeys", d.ike_rekeys);
  p.child_rekeys = j.value("child_rekeys", d.child_rekeys);
  p.sut_cpu_s = j.value("sut_cpu_s", d.sut_cpu_s);
  p.xfrm_stat = j.value("xfrm_stat", d.xfrm_stat);
  if (j.contains("sut")) p.sut = j.at("sut").get<SutSample>();
  p.xfrm = j.value("xfrm", d.xfrm);
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Expectation, expr, ok, observed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataTunnel, peer, sent, received_by_sut, echoed, received, dropped,
                                                not_sent)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataFault, injected, not_injectable, delivered_by_sut, evidence)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataSummary, tunnels, sent, received_by_sut, echoed, received, dropped,
                                                not_sent, lost, misrouted, unrecognized, sut_udp_rcvbuf_errors,
                                                agree, faults)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Host, kernel, sut_kernel, cpu, strongswan)

void to_json(json& j, const DosResilience& d) {
  j = json{{"flood_from_s", d.flood_from_s},
           {"flood_to_s", d.flood_to_s},
           {"before_from_s", d.before_from_s},
           {"setups_before", d.setups_before},
           {"setups_during", d.setups_during},
           {"setup_rate_before_per_s", d.setup_rate_before_per_s},
           {"setup_rate_during_per_s", d.setup_rate_during_per_s},
           {"ratio", d.ratio ? json(*d.ratio) : json(nullptr)}};
}

void from_json(const json& j, DosResilience& d) {
  const DosResilience z;
  d.flood_from_s = j.value("flood_from_s", z.flood_from_s);
  d.flood_to_s = j.value("flood_to_s", z.flood_to_s);
  d.before_from_s = j.value("before_from_s", z.before_from_s);
  d.setups_before = j.value("setups_before", z.setups_before);
  d.setups_during = j.value("setups_during", z.setups_during);
  d.setup_rate_before_per_s = j.value("setup_rate_before_per_s", z.setup_rate_before_per_s);
  d.setup_rate_during_per_s = j.value("setup_rate_during_per_s", z.setup_rate_during_per_s);
  if (j.contains("ratio") && j["ratio"].is_number()) d.ratio = j["ratio"].get<double>();
}

namespace {

// The summary's optional parts (Summary's macro leaves them out).
void put_optional_summary(const Summary& s, json& summary) {
  if (s.time_to_first_packet_ms) summary["time_to_first_packet_ms"] = *s.time_to_first_packet_ms;
  if (s.dos_resilience) summary["dos_resilience"] = *s.dos_resilience;
}

void get_optional_summary(const json& summary, Summary& s) {
  if (summary.contains("time_to_first_packet_ms"))
    s.time_to_first_packet_ms = summary["time_to_first_packet_ms"].get<LatencySummary>();
  if (summary.contains("dos_resilience")) s.dos_resilience = summary["dos_resilience"].get<DosResilience>();
}

}  // namespace
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MergedShard, run_id, started_at, command, source)

void to_json(json& j, const RunReport& r) {
  j = json{{"parameters", r.parameters},
           {"effective", r.effective},
           {"summary", r.summary},
           {"codes", r.codes},
           {"informational", r.informational},
           {"failures", r.failures},
           {"unclassified", r.unclassified},
           {"harness_faults", r.harness_faults},
           {"sut_unresponsive", r.sut_unresponsive},
           {"samples", {{"setup_latency_ms", r.setup_latency_samples}}},
           {"peers", r.peers},
           {"timeseries", r.timeseries},
           {"expectations", r.expectations},
           {"folder", r.folder},
           {"outcome", r.outcome},
           {"notes", r.notes}};
  j["sut_death"] = r.sut_death ? json(*r.sut_death) : json(nullptr);
  put_optional_summary(r.summary, j["summary"]);
  if (r.data) {
    j["summary"]["data"] = *r.data;
    j["data_tunnels"] = r.data_tunnels;
  }
}

void from_json(const json& j, RunReport& r) {
  r.parameters = j.value("parameters", json::object());
  r.effective = j.value("effective", json::object());
  r.summary = j.value("summary", Summary{});
  if (j.contains("summary") && j["summary"].is_object()) get_optional_summary(j["summary"], r.summary);
  r.codes = j.value("codes", std::map<std::string, CodeCount>{});
  r.informational = j.value("informational", std::map<std::string, CodeCount>{});
  r.failures = j.value("failures", std::vector<Failure>{});
  r.unclassified = j.value("unclassified", std::vector<RawRecord>{});
  r.harness_faults = j.value("harness_faults", std::vector<RawRecord>{});
  r.sut_unresponsive = j.value("sut_unresponsive", std::vector<SutUnresponsive>{});
  if (j.contains("sut_death") && !j["sut_death"].is_null()) r.sut_death = j["sut_death"].get<SutDeath>();
  if (j.contains("samples")) r.setup_latency_samples = j["samples"].value("setup_latency_ms", std::vector<double>{});
  r.peers = j.value("peers", std::vector<PeerTimeline>{});
  r.timeseries = j.value("timeseries", std::vector<TimeseriesPoint>{});
  r.expectations = j.value("expectations", std::vector<Expectation>{});
  r.folder = j.value("folder", std::string{});
  r.outcome = j.value("outcome", std::string{"complete"});
  r.notes = j.value("notes", std::vector<std::string>{});
  if (j.contains("summary") && j["summary"].contains("data")) {
    r.data = j["summary"]["data"].get<DataSummary>();
    r.data_tunnels = j.value("data_tunnels", std::vector<DataTunnel>{});
  }
}

json to_json(const Report& r) {
  json runs = json::array();
  for (const auto& run : r.runs) runs.push_back(run);
  json j{{"schema_version", r.schema_version},
              {"tool_version", r.tool_version},
              {"run_id", r.run_id},
              {"started_at", r.started_at},
              {"command", r.command},
              {"scenario", r.scenario},
              {"backend", r.backend},
              {"real_xfrm", r.real_xfrm},
              {"host", r.host},
              {"runs", runs}};
  if (!r.scenario_yaml.empty()) j["scenario_yaml"] = r.scenario_yaml;
  if (!r.merged_from.empty()) j["merged_from"] = r.merged_from;
  if (r.target) {
    const TargetInfo& t = *r.target;
    j["target"] = {{"address", t.address},
                   {"vendor", t.vendor ? json(*t.vendor) : json(nullptr)},
                   {"counts_available", t.counts_available}};
  }
  if (r.generator) j["generator"] = *r.generator;
  if (!r.generators.empty()) j["generators"] = r.generators;
  return j;
}

Result<Report> from_json(const json& j) {
  try {
    if (!j.is_object()) return Error("report: top level is not an object");
    Report r;
    r.schema_version = j.at("schema_version").get<int>();
    if (r.schema_version > kSchemaVersion)
      return Error("report: schema_version " + std::to_string(r.schema_version) +
                   " is newer than this ikestorm understands (" + std::to_string(kSchemaVersion) + ")");
    r.tool_version = j.value("tool_version", "");
    r.run_id = j.value("run_id", "");
    r.started_at = j.value("started_at", "");
    r.command = j.value("command", "");
    r.scenario = j.value("scenario", json::object());
    r.scenario_yaml = j.value("scenario_yaml", "");
    r.backend = j.value("backend", "");
    r.real_xfrm = j.value("real_xfrm", false);
    r.host = j.value("host", Host{});
    for (const auto& run : j.at("runs")) r.runs.push_back(run.get<RunReport>());
    r.merged_from = j.value("merged_from", std::vector<MergedShard>{});
    if (j.contains("target") && j["target"].is_object()) {
      const json& t = j["target"];
      TargetInfo info;
      info.address = t.value("address", "");
      if (t.contains("vendor") && t["vendor"].is_string()) info.vendor = t["vendor"].get<std::string>();
      info.counts_available = t.value("counts_available", false);
      r.target = std::move(info);
    }
    if (j.contains("generator") && !j["generator"].is_null()) r.generator = j["generator"].get<GeneratorInfo>();
    r.generators = j.value("generators", std::vector<GeneratorRow>{});
    return r;
  } catch (const json::exception& e) {
    return Error(std::string("report: ") + e.what());
  }
}

Status write_json(const Report& r, const std::string& path) {
  return write_file_atomic(path, to_json(r).dump(2) + "\n");
}

Result<Report> read_json(const std::string& path) {
  std::ifstream f(path);
  if (!f) return Error::sys("opening " + path);
  json j = json::parse(f, nullptr, false);
  if (j.is_discarded()) return Error(path + ": not valid JSON");
  auto r = from_json(j);
  if (!r) return std::move(r).error().wrap(path);
  return r;
}

double percentile(std::vector<double> s, double p) {
  if (s.empty()) return 0;
  std::sort(s.begin(), s.end());
  // Nearest rank: the smallest value with at least p% of samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(s.size())));
  rank = std::clamp<std::size_t>(rank, 1, s.size());
  return s[rank - 1];
}

LatencySummary summarize_latency(const std::vector<double>& samples) {
  LatencySummary l;
  if (samples.empty()) return l;
  l.p50 = percentile(samples, 50);
  l.p90 = percentile(samples, 90);
  l.p99 = percentile(samples, 99);
  l.max = *std::max_element(samples.begin(), samples.end());
  return l;
}

}  // namespace ist::reports
