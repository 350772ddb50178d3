#pragma once
// The kernel's side of a run: for each observed namespace (the SUT's, the peers'), a Sampler
// read once per orchestrator tick and a Monitor on the run's EventLoop. Each tick yields
// counts, xfrm_stat deltas and the notifications of that second (KernelSample; the run maps
// them into its report); ACQUIRE, EXPIRE and SA deletes are kept (bounded) to be joined with
// peers by address for the per-peer timelines and the classifier.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "xfrm/line_feed.hpp"
#include "xfrm/monitor.hpp"
#include "xfrm/sampler.hpp"

namespace ist::xfrm {

struct RecordedEvent {
  MonoTime t{};
  std::string role;  // namespace role: "sut", "peers"
  Body body;
};

// A kernel event that names a peer's address.
struct PeerKernelEvent {
  uint32_t peer = 0;
  std::string address;  // the peer address the event carries
  MonoTime t{};
  std::string role;
  std::string kind;    // event_kind(): "acquire", "expire", "delete_sa", ...
  std::string detail;  // describe()
};

// One observed kernel's second: its counts now, the notifications and xfrm_stat deltas since
// the previous sample.
struct KernelSample {
  std::string role;  // namespace role: "sut", "peers"
  Counts counts;
  uint64_t acquires = 0, expires = 0;
  std::map<std::string, int64_t> xfrm_stat_delta;  // non-zero only
};

class RunObserver {
 public:
  // Keeps at most this many events (ACQUIRE storms): the rest are counted, not kept.
  static constexpr std::size_t kMaxEvents = 200000;

  // Starts observing one namespace. On error nothing of it is kept (the run goes on without).
  Status add(EventLoop& loop, std::string role, const NetnsRunner& in);
  // Observes a kernel elsewhere (the vm backend's guest) through the lines of
  // `ikestorm xfrm --json --watch` read from `lines`; replaces a namespace of the same role
  // (the host's SUT namespace holds no SAs when the SUT runs in a guest).
  Status add_lines(EventLoop& loop, std::string role, unique_fd lines);
  // One sample per observed kernel, in the order they were added. Kernels that fail to
  // answer (or, through lines, have sent nothing yet) are left out.
  std::vector<KernelSample> sample(MonoTime now);
  // Closes sockets (before the namespaces go away).
  void stop();

  const std::vector<RecordedEvent>& events() const { return events_; }
  uint64_t dropped_events() const { return dropped_; }
  uint64_t losses() const;       // ENOBUFS overruns, all namespaces
  uint64_t sample_errors() const { return sample_errors_; }
  bool empty() const { return watched_.empty(); }
  // What went wrong with kernels observed through lines (add_lines), one sentence each: a
  // stream that closed while the run was still observing, malformed lines.
  std::vector<std::string> feed_problems() const;

 private:
  struct Watched {
    std::string role;
    Sampler sampler;
    std::unique_ptr<Monitor> monitor;
    std::unique_ptr<LineFeed> feed;  // instead of sampler + monitor (add_lines)
    uint64_t acquires = 0, expires = 0;  // since the last fill
    std::optional<uint64_t> feed_closed_after;  // lines read when a fill found the feed closed
    uint64_t feed_malformed = 0;                 // kept past stop()
  };
  void record(Watched& w, MonoTime t, const Body& body);
  std::vector<std::unique_ptr<Watched>> watched_;
  std::vector<RecordedEvent> events_;
  uint64_t dropped_ = 0;
  uint64_t sample_errors_ = 0;
};

// Joins events with peers: the first address of an event (event_addresses order: tunnel
// endpoints, then selector) that is a peer's gives the peer. Events naming no peer are left out.
std::vector<PeerKernelEvent> join_with_peers(const std::vector<RecordedEvent>& events,
                                             const std::unordered_map<std::string, uint32_t>& peer_of_address);

}  // namespace ist::xfrm
