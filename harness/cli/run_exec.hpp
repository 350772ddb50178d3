#pragma once
// The run path `ikestorm run` takes once its arguments are read, shared with the commands that
// run scenarios in-process (`search` runs each trial through it).
#include <chrono>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/run_state.hpp"
#include "reports/report.hpp"
#include "scenario/load.hpp"

namespace ist::cli {

// What the host can do, and the backend chosen from it.
struct HostSetup {
  std::string backend, reason;  // "libipsec", "asked for"
  std::string charon_version;
  bool host_esp = false;        // the host kernel holds ESP states
};
struct SetupFailure {
  std::string message;
  int exit_code = 0;  // 2: the backend asked for is missing here; 3: charon is not usable
};
// Probes the host, picks the backend for the first point, checks that the kernel has what the
// selected points' topology needs (exit 2 before anything is created) and warns about
// earlier killed runs.
std::variant<HostSetup, SetupFailure> setup_host(const scenario::Loaded& L, const std::vector<std::size_t>& indices);

// The report's head: tool, run id, command line, scenario (as effective and as written), host.
void fill_report_head(reports::Report& report, const std::string& run_id, const std::string& command_line,
                      const nlohmann::json& document, const std::string& file, const std::string& backend,
                      const std::string& charon_version);

struct Execution {
  int exit_code = 0;         // 0, 1 (an expectation failed), 3 (harness fault), 4 (a leak)
  bool interrupted = false;  // Ctrl-C: the report holds what was measured until then
};
// Runs the selected points into `out` under `state`, judging each, writing the report after
// every point and once more after the leak check (the state is removed when nothing leaked).
// With `start_at` (--start-at), the first point's phases wait for that instant.
Execution execute_points(const scenario::Loaded& L, const std::vector<std::size_t>& indices, RunState& state,
                         const std::string& out, const HostSetup& host, reports::Report& report,
                         std::optional<std::chrono::system_clock::time_point> start_at = std::nullopt);

// A run's summary on screen (with its folder and parameters when the report has several).
void print_point(const reports::RunReport& r, bool with_parameters);

}  // namespace ist::cli
