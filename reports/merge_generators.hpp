#pragma once
// Generators: `ikestorm run --generator I/N` drives one block of a target scenario's peers;
// `ikestorm merge` folds the N reports of one run into one. Unlike shards (merge.hpp), every
// generator ran every sweep point, each with its own peers, so the points are folded:
//   - counts summed; codes summed by peers and by attempts;
//   - setup latency percentiles recomputed from every generator's samples;
//   - the timeseries summed per second on the shared clock (they started at one instant);
//   - the gateway's own counts (its list-sas, its vici stats) taken once, not summed;
//   - one row per generator in generators[].
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "reports/merge.hpp"
#include "reports/report.hpp"

namespace ist::reports {

// As many generators as `run --generator` accepts (scenario/generator.cpp).
inline constexpr std::uint32_t kMaxMergedGenerators = 1024;

// Whether the inputs are generator reports (all of them: true; none: false); a mix is an Error.
Result<bool> are_generator_reports(const std::vector<ShardInput>& inputs);

// One report from the N generator reports of one run. Refuses (Error) reports of different
// scenarios, start times, backends or generator counts, a generator given twice, and a
// missing one (naming it). Each point keeps the first generator's expectations as written:
// the caller evaluates them again on the merged summary (cli/cmd_merge.cpp).
Result<Report> merge_generator_reports(const std::vector<ShardInput>& inputs, const std::string& command);

// One point's run, folded from each generator's run of that point (in generator order).
RunReport fold_generator_runs(const std::vector<const RunReport*>& runs);

}  // namespace ist::reports
