#pragma once
// What `ikestorm xfrm` shows of a namespace's XFRM state, and its --watch loop: text for
// people, the stable JSON lines (json_lines.hpp, README.md here), or each received netlink
// datagram as a hex line (fixture recording).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <ostream>
#include <span>
#include <string>

#include "common/clock.hpp"
#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "xfrm/monitor.hpp"
#include "xfrm/netns_runner.hpp"
#include "xfrm/sampler.hpp"

namespace ist::xfrm {

enum class ConsoleFormat { text, json, raw };

// Writes one line per call (flushed: a reader of a pipe sees each line as it happens).
// Times count from `t0`; `ns` is the namespace's name ("" for the current one).
class ConsoleWriter {
 public:
  ConsoleWriter(std::ostream& out, ConsoleFormat format, std::string ns, MonoTime t0)
      : out_(out), format_(format), ns_(std::move(ns)), t0_(t0) {}

  // The first sample; with `details`, every SA and policy dumped from it. `watching` gives
  // the JSON line t_ms 0 (the start of the stream). Raw writes nothing here.
  Status snapshot(const Sample& first, XfrmSocket* details, bool watching);
  void sample(const Sample& s);
  void event(const Event& e);
  void loss(uint64_t losses_total, MonoTime now);  // notifications lost so far
  void datagram(std::span<const uint8_t> bytes);   // raw only
  void end(const Monitor::Stats& stats, MonoTime now);

 private:
  std::ostream& out_;
  ConsoleFormat format_;
  std::string ns_;
  MonoTime t0_;
};

struct WatchOptions {
  std::chrono::milliseconds interval{1000};         // between samples
  std::optional<std::chrono::milliseconds> duration;  // from t0; none: until stop_requested
  std::function<bool()> stop_requested;             // checked by the loop (Ctrl-C)
  std::function<void(const Error&)> on_malformed;   // a notification that did not parse
};

// Streams the namespace's notifications and a sample every interval through `out` until
// stop_requested or the duration, then the end line. Lost notifications (a kernel buffer
// overrun) are answered with a sample: counts from the kernel, not from the missed events.
// An Error when the monitor cannot start, the loop fails, or a sample fails ("sampling: ...",
// after the end line).
Status watch(EventLoop& loop, const NetnsRunner& in, Sampler& sampler, MonoTime t0,
             const WatchOptions& options, ConsoleWriter& out);

}  // namespace ist::xfrm
