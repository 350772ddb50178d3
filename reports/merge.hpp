#pragma once
// Shards: `ikestorm run FILE --shard I/N` runs every N-th sweep point (point k, 0-based, is
// written to folder run-<k+1>); `ikestorm merge -o OUT DIR...` folds the shard reports into
// one; `ikestorm run FILE --resume DIR` skips the points a report already finished.
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "reports/report.hpp"

namespace ist::reports {

// 1-based point number from a run's folder "run-<k>"; nullopt for other folder names.
std::optional<std::size_t> point_number(const RunReport& run);

// Folders ("run-3", ...) of the runs that finished measuring: what --resume may skip. Runs
// that were interrupted or hit a harness fault are not finished (a SUT that died is data:
// "sut-died" is finished).
std::set<std::string> finished_points(const Report& report);

struct ShardInput {
  Report report;
  std::string source;  // where it was read from (for messages and merged_from)
};

// A merged report's head, from the first input: schema and tool versions, the scenario (as
// effective and as written), backend, real_xfrm, host, target, started_at; `command` is the
// merge's own command line. Runs and the list of inputs are the caller's.
Report merged_head(const Report& first, const std::string& command);

// One report from shards of the same sweep. Refuses (Error) when the scenarios (the
// effective documents) or backends differ, when two shards hold the same point, or when
// there is nothing to merge. runs[] are ordered by point number; each shard is listed in
// merged_from; started_at is the earliest shard's.
Result<Report> merge_reports(const std::vector<ShardInput>& shards, const std::string& command);

}  // namespace ist::reports
