#pragma once
// An external gateway's own view over its vici on TCP (target.vici): its established IKE_SA
// count (list-sas), its counters (stats) and its `log` events, written as lines of the same
// filelog the harness's own SUT charon writes, so that the SUT-log classifier reads them as
// the responder's side (MM_LIMIT and the other responder codes).
//
// The gateway is not ours: nothing is loaded into it, nothing is changed. The only requests
// sent are list-sas (noblock), stats and the `log` event registration.
//
// Whether its CHILD_SAs are kernel XFRM SAs (report.real_xfrm) is read from its `stats`
// answer's `plugins` list, the names of the plugins its charon loaded: nothing else in vici
// tells the kernel's SAs from kernel-libipsec's userland ones.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "reports/report.hpp"
#include "vici/session.hpp"
#include "vici/types.hpp"

namespace ist::run {

// One vici `log` event (keys group, level, thread, ikesa-name, ikesa-uniqueid, msg) as the
// harness's SUT filelog writes it (charon/settings.cpp: time_format kLogTimeFormat +
// time_add_ms, ike_name = yes, no log_level):
//   `2026-12-07T05:40:01.123 09[IKE] <rw|3> message`
// `at` is when the event arrived (local time, as charon's filelog writes). A message of
// several lines gives one prefixed line each, as the filelog does. Ends with '\n'.
std::string gateway_log_line(const vici::Message& event, std::chrono::system_clock::time_point at);

// real_xfrm for a target, from the gateway's loaded plugins (vici `stats`, `plugins`):
// kernel-netlink loaded and kernel-libipsec not loaded means its CHILD_SAs are installed in
// its kernel's XFRM. kernel-libipsec loaded (its own ESP in charon's userland, over a TUN
// device), kernel-netlink missing, or no plugin list at all: not evidence, kernel_xfrm false.
struct GatewayXfrmEvidence {
  bool kernel_xfrm = false;
  std::string basis;  // what the verdict rests on, for the report's notes
};
GatewayXfrmEvidence gateway_xfrm_evidence(const std::vector<std::string>& plugins);

class GatewayVici {
 public:
  // Connects to tcp://host:port within `timeout`, subscribes to `log` and appends every log
  // event to `log_path` (created 0640 if missing, appended to otherwise). Errors: the vici
  // connect errors (refused, unreachable, no answer in time), a log file that cannot be
  // opened, a gateway that refuses the `log` event (no vici logger).
  static Result<std::unique_ptr<GatewayVici>> connect(EventLoop& loop, const std::string& host,
                                                      uint16_t port, std::string log_path,
                                                      std::chrono::milliseconds timeout);
  ~GatewayVici();
  GatewayVici(const GatewayVici&) = delete;
  GatewayVici& operator=(const GatewayVici&) = delete;

  // ESTABLISHED IKE_SAs in the gateway's list-sas (the same count as the local charon SUT).
  void count_established(std::function<void(Result<uint64_t>)> done);
  // The gateway's `stats` as a SutSample (the same sampling as the local charon SUT).
  void sample_stats(std::function<void(Result<reports::SutSample>)> done);
  // The gateway's `stats` now, running the session's loop up to `timeout` (blocking: call it
  // before the phases start).
  Result<vici::Stats> stats_now(std::chrono::milliseconds timeout);
  // False once the vici connection is gone; `why` says how it ended.
  bool alive(std::string* why);

  const std::string& uri() const { return uri_; }
  const std::string& log_path() const { return log_path_; }
  uint64_t log_lines() const { return log_lines_; }  // events written so far
  // The first write error on the log file ("" = none); later events are dropped after one.
  const std::string& log_problem() const { return log_problem_; }
  vici::Session& session() { return *session_; }

 private:
  GatewayVici() = default;
  void on_log(const vici::Message& event);

  std::unique_ptr<vici::Session> session_;
  std::string uri_;
  std::string log_path_;
  unique_fd log_fd_;
  uint64_t log_lines_ = 0;
  std::string log_problem_;
  std::string closed_why_;
};

}  // namespace ist::run
