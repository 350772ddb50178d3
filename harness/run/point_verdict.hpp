#pragma once
// What a point's run means beyond its codes: did the SUT survive (it died, or lived but
// answered nothing), did the harness fail on its own side, what was cut short or lost, and
// whether the kernel really held ESP states. Filled into the report after classification,
// so a verdict rests on what was observed, never on a backend's name.
#include <string>
#include <vector>

#include "fleet/peer_tracker.hpp"
#include "reports/report.hpp"
#include "run/orchestrator.hpp"

namespace ist::run {

// summary.{sut_survived,lost,abandoned,rekeys_in_hold}, sut_death (with the last lines of
// `sut_log` and any backtrace charon wrote), sut_unresponsive and the outcome. Run after
// classify_point (it reads summary.harness_faults).
void apply_verdict(const OrchestratorResult& r, const fleet::PeerTracker& tracker, const std::string& sut_log,
                   reports::RunReport& rep);

// The last `n` lines of a log file (fewer when it is shorter; none when it cannot be read).
std::vector<std::string> log_tail(const std::string& path, std::size_t n);
// charon's own crash report in its log: the critical-signal line, the frame dump lines.
std::vector<std::string> backtrace_lines(const std::string& path);

// Evidence of real kernel XFRM: the SUT kernel's ESP state count read when the SUT counted
// its IKE_SAs (summary.xfrm_states, 0 when not read), or any second in which the kernel
// observer saw SAs in the SUT's namespace.
bool kernel_held_sas(uint64_t esp_states_at_count, const std::vector<reports::TimeseriesPoint>& ts);

}  // namespace ist::run
