#pragma once
// Drives one run point through its phases (connect, hold, storm, churn, teardown) on one
// EventLoop, against a PeerEngine and a Sut behind interfaces (fakes in unit tests, charon
// in real runs). It decides nothing about what a failure means: it records what happened,
// per peer and per second, for the report and the classifier.
#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "fleet/arrival.hpp"
#include "fleet/peer_engine.hpp"
#include "fleet/peer_tracker.hpp"
#include "reports/report.hpp"
#include "run/progress.hpp"
#include "run/sut.hpp"
#include "run/timeline_log.hpp"

namespace ist::run {

struct Phase {
  enum class Kind { connect, hold, storm, churn, teardown };
  Kind kind = Kind::connect;
  fleet::Arrival arrival = fleet::Arrival::at_rate(500);  // connect
  std::chrono::milliseconds duration{0};  // hold, churn: wall time (already divided by time_scale)
  double share = 0;                       // storm: fraction of established peers
  std::chrono::milliseconds within{0};    // storm: window the reconnects spread over (wall)
  double rate_per_s = 0;                  // churn: leave-and-return per second
};

const char* to_string(Phase::Kind k);

struct OrchestratorPlan {
  std::vector<Phase> phases;
  double time_scale = 1;
  uint64_t seed = 1;
  // Upper bound on waiting for SAs to go away at teardown.
  std::chrono::milliseconds teardown_timeout{30000};
  // How long the end of connect waits for the SUT's own count of its SAs.
  std::chrono::milliseconds sut_count_timeout{60000};
  // A live SUT that answers neither vici nor any peer, and spends no CPU, for this long is
  // unresponsive (scenario sut.unresponsive_after). A saturated SUT is busy, not unresponsive.
  std::chrono::milliseconds sut_unresponsive_after{30000};
  // Called at every tick with the point about to be recorded, to add samples of other
  // observers (the kernel's XFRM state: harness/xfrm RunObserver). Synchronous.
  std::function<void(reports::TimeseriesPoint&)> on_tick;
  // Called as each hold phase starts (with its wall duration) and ends: the data plane's
  // traffic (dataplane/data_plane_session.hpp) runs in holds.
  std::function<void(std::chrono::milliseconds)> on_hold_start;
  std::function<void()> on_hold_end;
  // Called as a peer is established (its attempt's first CHILD_SA up), with the initiate
  // that began the attempt: the data plane's first packet goes out here.
  std::function<void(uint32_t peer, MonoTime initiated, MonoTime up)> on_established;
};

struct PhaseSpan {
  std::string phase;
  double start_s = 0, end_s = 0;  // wall seconds since run start
};

struct OrchestratorResult {
  bool interrupted = false;       // Ctrl-C / SIGTERM
  std::string fault;              // the harness's side failed (a peer daemon died, the loop): why it stopped early
  // The SUT's fate: when it died (seconds since start) and how; spans in which it lived but
  // answered nothing (seconds since start).
  std::optional<double> sut_died_at_s;
  std::string sut_death;
  std::vector<std::pair<double, double>> sut_unresponsive_s;
  std::vector<PhaseSpan> phases;
  std::chrono::system_clock::time_point wall_start{};  // the run's t0 on the wall clock
  // At the end of the first connect phase:
  uint64_t established_at_connect_end = 0;
  uint64_t failed_at_connect_end = 0;
  std::optional<uint64_t> sut_established_at_connect_end;
  std::string sut_count_problem;  // why that count is missing (an error, no answer in time)
  double connect_first_initiate_s = 0, connect_last_established_s = 0;
  double connect_last_initiate_s = 0;
  uint64_t connect_attempts = 0;  // initiations sent during the first connect phase
  std::vector<double> connect_latencies_ms;
  // Hold windows (wall seconds) and rekeys counted in them.
  double hold_wall_s = 0;
  uint64_t hold_ike_rekeys = 0, hold_child_rekeys = 0;
  double hold_rekey_rate_per_s = 0;  // steady-state estimate (PeerTracker::window_rekey_rate_per_s)
  std::vector<reports::TimeseriesPoint> timeseries;
  TimelineLog timelines;  // per peer, bounded
  ProcessUsage sut_usage, peers_usage;  // sampled before the daemons stop
};

class Orchestrator {
 public:
  Orchestrator(EventLoop& loop, fleet::PeerEngine& engine, Sut& sut, OrchestratorPlan plan,
               Progress* progress = nullptr);

  // Runs every phase. Never throws; a harness fault ends the run early with result.fault.
  OrchestratorResult execute();

  const fleet::PeerTracker& tracker() const { return tracker_; }
  MonoTime start_time() const { return t0_; }

 private:
  void on_observation(const fleet::PeerObservation& o);
  void tick();  // once a second: timeouts, timeseries, progress, health
  void check_sut(MonoTime now);  // died? answering?
  void sut_answered(MonoTime now);
  void end_silence(MonoTime end);
  bool should_stop() const;
  // Runs the loop until done() or stop; returns false when stopped early.
  bool wait(const std::function<bool()>& done, std::chrono::milliseconds limit);

  void run_connect(const Phase& p, bool first);
  void run_hold(const Phase& p);
  void run_storm(const Phase& p);
  void run_churn(const Phase& p);
  void run_teardown();
  // Initiates `peers` spread by `arrival`, then waits until none is connecting.
  void connect_peers(const std::vector<uint32_t>& peers, const fleet::Arrival& arrival);
  std::vector<uint32_t> established_peers() const;
  double since_start_s(MonoTime t) const { return ms_between(t0_, t) / 1000.0; }

  EventLoop& loop_;
  fleet::PeerEngine& engine_;
  Sut& sut_;
  OrchestratorPlan plan_;
  Progress* progress_;
  fleet::PeerTracker tracker_;
  OrchestratorResult result_;
  MonoTime t0_{};
  std::string phase_name_ = "start";
  std::mt19937_64 rng_;
  std::vector<bool> reconnect_on_down_;  // churn/storm peers waiting for their SA to go
  uint64_t established_last_tick_ = 0;
  uint64_t attempts_last_tick_ = 0, ike_rekeys_last_tick_ = 0, child_rekeys_last_tick_ = 0;
  double rate_last_tick_ = 0;
  bool ticking_ = false;
  bool tearing_down_ = false;  // reconnects scheduled before teardown must not fire in it
  MonoTime sut_last_answer_{};
  double sut_cpu_last_s_ = -1;
  double sut_cpu_tick_last_s_ = 0;  // the SUT's CPU total at the previous tick
  std::optional<MonoTime> sut_silent_since_;
};

}  // namespace ist::run
