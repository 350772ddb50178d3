#pragma once
// One sweep point, end to end with real components: a fresh topology, the SUT charon, the
// initiator fleet, the orchestrated phases, teardown, and the point's RunReport. A failure of
// the SUT is data in the report; only the harness not being able to act is a fault.
#include <chrono>
#include <optional>
#include <string>

#include "common/run_state.hpp"
#include "reports/report.hpp"
#include "run/progress.hpp"
#include "scenario/load.hpp"

namespace ist::run {

struct PointContext {
  RunState* state = nullptr;
  std::string out_dir;     // the report's folder (absolute)
  std::string point_dir;   // this point's folder name below out_dir, e.g. "run-1"
  std::string backend;     // resolved SUT backend: "libipsec" | "xfrm" | "vm"
  bool host_esp = false;   // the host kernel holds ESP states: initiators may use xfrm
  Progress* progress = nullptr;
  std::string psk;         // random per run
  // --start-at: the topology, SUT and peers are up, then the phases wait for this instant
  // (several generators start together); unset: at once.
  std::optional<std::chrono::system_clock::time_point> start_at;
};

struct PointOutcome {
  reports::RunReport report;
  std::string fault;       // non-empty: the harness could not complete this point
  bool interrupted = false;
  std::string sut_log;     // the SUT's filelog (for the classifier)
  std::vector<std::string> peer_logs;
  std::string sut_version;
  std::string sut_kernel;  // the SUT's kernel when it is not the host's (vm: the guest's uname -r)
  bool real_xfrm = false;  // vm: the guest kernel held the SAs as XFRM states; target: its plugins say so
  std::optional<reports::TargetInfo> target;  // a target run: the report's `target`
  std::optional<double> start_skew_ms;  // with start_at: when the phases really began, minus start_at
};

PointOutcome run_point(const scenario::SweepPoint& point, const PointContext& ctx);

// Initiator defaults the harness applies unless peers.charon sets them: give up an
// unanswered request after ~24 s (3 retransmits from 2 s) instead of charon's ~165 s, so a
// refused peer is reported within a run's patience.
inline constexpr const char* kInitiatorRetransmitTries = "3";
inline constexpr const char* kInitiatorRetransmitTimeout = "2";

}  // namespace ist::run
