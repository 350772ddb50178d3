#include "run/point_verdict.hpp"

#include <deque>
#include <fstream>

namespace ist::run {

std::vector<std::string> log_tail(const std::string& path, std::size_t n) {
  std::ifstream f(path);
  std::deque<std::string> last;
  for (std::string line; std::getline(f, line);) {
    last.push_back(std::move(line));
    if (last.size() > n) last.pop_front();
  }
  return {last.begin(), last.end()};
}

std::vector<std::string> backtrace_lines(const std::string& path) {
  // libstrongswan on SIGSEGV/SIGILL/SIGBUS: "thread N received 11", "dumping N stack frame
  // addresses:", one "  <object> @ 0x... [0x...]" line a frame, "killing ourself, received
  // critical signal". At most 64 lines are kept.
  std::ifstream f(path);
  std::vector<std::string> out;
  bool in_dump = false;
  for (std::string line; std::getline(f, line) && out.size() < 64;) {
    const bool start = line.find("stack frame addresses") != std::string::npos ||
                       line.find("received critical signal") != std::string::npos ||
                       (line.find("thread ") != std::string::npos && line.find(" received ") != std::string::npos &&
                        line.find("[DMN]") != std::string::npos);
    if (start) in_dump = line.find("stack frame addresses") != std::string::npos;
    else if (in_dump && line.find(" @ 0x") == std::string::npos) in_dump = false;
    if (start || in_dump) out.push_back(line);
  }
  return out;
}

bool kernel_held_sas(uint64_t esp_states_at_count, const std::vector<reports::TimeseriesPoint>& ts) {
  if (esp_states_at_count > 0) return true;
  for (const auto& pt : ts)
    if (auto it = pt.xfrm.find("sut"); it != pt.xfrm.end() && it->second.sas > 0) return true;
  return false;
}

void apply_verdict(const OrchestratorResult& r, const fleet::PeerTracker& tracker, const std::string& sut_log,
                   reports::RunReport& rep) {
  auto& sm = rep.summary;
  sm.lost = tracker.lost();
  sm.abandoned = tracker.abandoned();
  sm.rekeys_in_hold = {r.hold_ike_rekeys, r.hold_child_rekeys};
  if (auto n = r.timelines.dropped_total())
    rep.notes.push_back("timelines: " + std::to_string(n) + " events beyond each peer's first " +
                        std::to_string(TimelineLog::kHead) + " and last " + std::to_string(TimelineLog::kTail) +
                        " were counted in the summary but not kept (a 'summarised' event marks the gap)");
  auto outcome = [&](const char* o) {
    if (rep.outcome == "complete") rep.outcome = o;
  };
  if (!r.fault.empty()) {
    rep.notes.push_back(r.fault);
    rep.outcome = "harness-fault";
  }
  if (sm.harness_faults > 0) {
    rep.notes.push_back(std::to_string(sm.harness_faults) +
                        " attempt(s) or rekey(s) failed on the harness's own side (harness_faults[]): no Windows "
                        "code, and the run is a harness fault");
    rep.outcome = "harness-fault";
  }
  for (const auto& [from, to] : r.sut_unresponsive_s) rep.sut_unresponsive.push_back({from * 1000, to * 1000});
  if (!rep.sut_unresponsive.empty()) {
    sm.sut_survived = 0;
    outcome("sut-unresponsive");
  }
  if (r.sut_died_at_s) {
    reports::SutDeath d;
    d.t_ms = *r.sut_died_at_s * 1000;
    d.how = r.sut_death;
    if (!sut_log.empty()) {
      d.log_tail = log_tail(sut_log, 20);
      d.backtrace = backtrace_lines(sut_log);
    }
    rep.sut_death = std::move(d);
    sm.sut_survived = 0;
    // Death outranks a silence that may have preceded it.
    if (rep.outcome == "complete" || rep.outcome == "sut-unresponsive") rep.outcome = "sut-died";
  }
}

}  // namespace ist::run
