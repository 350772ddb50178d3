#include "reports/merge.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "reports/json_util.hpp"

namespace ist::reports {

using nlohmann::json;

std::optional<std::size_t> point_number(const RunReport& run) {
  const std::string_view f = run.folder;
  if (f.size() <= 4 || f.substr(0, 4) != "run-") return std::nullopt;
  std::size_t k = 0;
  auto [end, ec] = std::from_chars(f.data() + 4, f.data() + f.size(), k);
  if (ec != std::errc() || end != f.data() + f.size() || k == 0) return std::nullopt;
  return k;
}

std::set<std::string> finished_points(const Report& report) {
  std::set<std::string> done;
  for (const auto& r : report.runs)
    if (r.outcome != "interrupted" && r.outcome != "harness-fault") done.insert(r.folder);
  return done;
}

namespace {
// The first JSON pointer where two documents differ, for a message people can act on.
std::string first_difference(const json& a, const json& b) {
  json patch = json::diff(a, b);
  if (patch.empty()) return "";
  std::string path = str_field(patch[0], "path");
  return path.empty() ? "/" : path;
}
}  // namespace

Report merged_head(const Report& first, const std::string& command) {
  Report out;
  out.schema_version = first.schema_version;
  out.tool_version = first.tool_version;
  out.scenario = first.scenario;
  out.scenario_yaml = first.scenario_yaml;
  out.backend = first.backend;
  out.real_xfrm = first.real_xfrm;
  out.host = first.host;
  out.target = first.target;  // the same gateway (target:) in every input
  out.command = command;
  out.started_at = first.started_at;
  return out;
}

Result<Report> merge_reports(const std::vector<ShardInput>& shards, const std::string& command) {
  if (shards.empty()) return Error("merge: no reports given");
  const ShardInput& first = shards.front();
  Report out = merged_head(first.report, command);

  std::map<std::string, std::string> point_source;  // folder -> shard it came from
  std::vector<std::string> ids;
  for (const auto& s : shards) {
    const Report& r = s.report;
    if (r.scenario != first.report.scenario)
      return Error("merge: " + s.source + " ran a different scenario than " + first.source + " (they differ at " +
                   first_difference(first.report.scenario, r.scenario) + "); only shards of one sweep merge");
    if (r.backend != first.report.backend)
      return Error("merge: " + s.source + " used backend " + r.backend + ", " + first.source + " used " +
                   first.report.backend);
    if (r.schema_version != first.report.schema_version)
      return Error("merge: " + s.source + " has schema_version " + std::to_string(r.schema_version) + ", " +
                   first.source + " has " + std::to_string(first.report.schema_version));
    for (const auto& run : r.runs) {
      auto [it, inserted] = point_source.emplace(run.folder, s.source);
      if (!inserted)
        return Error("merge: point " + run.folder + " is in both " + it->second + " and " + s.source);
      out.runs.push_back(run);
    }
    if (!r.started_at.empty() && (out.started_at.empty() || r.started_at < out.started_at)) out.started_at = r.started_at;
    // A shard that was itself merged keeps its own shard list.
    if (!r.merged_from.empty()) {
      for (const auto& m : r.merged_from) {
        out.merged_from.push_back(m);
        ids.push_back(m.run_id);
      }
    } else {
      out.merged_from.push_back({r.run_id, r.started_at, r.command, s.source});
      ids.push_back(r.run_id);
    }
    // The host facts differ per CI machine: keep the first, note the others in the shard list.
  }
  if (out.runs.empty()) return Error("merge: the reports hold no runs");
  std::stable_sort(out.runs.begin(), out.runs.end(), [](const RunReport& a, const RunReport& b) {
    auto ka = point_number(a), kb = point_number(b);
    if (ka && kb) return *ka < *kb;
    if (ka != kb) return ka.has_value();  // numbered points first
    return a.folder < b.folder;
  });
  for (const auto& id : ids) out.run_id += (out.run_id.empty() ? "" : "+") + id;
  return out;
}

}  // namespace ist::reports
