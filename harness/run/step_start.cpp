// --start-at: several generators build their topology, SUT side and peers at their own pace,
// then all start their phases at one instant. The skew each one really had is reported.
#include <cstdio>
#include <thread>

#include "common/signals.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

bool wait_for_start(PointRun& run) {
  if (!run.ctx.start_at) return true;
  using clock = std::chrono::system_clock;
  const clock::time_point at = *run.ctx.start_at;
  // Short sleeps, so Ctrl-C is honoured within 50 ms; the last one lands on the instant.
  while (!signals::stop_requested()) {
    const auto left = at - clock::now();
    if (left <= clock::duration::zero()) break;
    std::this_thread::sleep_for(std::min<clock::duration>(left, std::chrono::milliseconds(50)));
  }
  if (signals::stop_requested()) {
    run.out.interrupted = true;
    run.rep.outcome = "interrupted";
    run.rep.notes.push_back("interrupted while waiting for --start-at");
    return false;
  }
  const double skew = std::chrono::duration<double, std::milli>(clock::now() - at).count();
  run.out.start_skew_ms = skew;
  char text[96];
  std::snprintf(text, sizeof text, "phases started %.1f ms after --start-at", skew);
  run.rep.notes.emplace_back(text);
  if (skew > 1000)
    run.rep.notes.push_back("--start-at had passed when this generator was ready: it started " +
                            std::to_string(static_cast<long long>(skew)) + " ms late");
  return true;
}

}  // namespace ist::run
