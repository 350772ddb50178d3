#pragma once
// Per-peer event history with bounded memory. Every event is counted (the tracker keeps the
// counters and latency samples), but a peer keeps only its first kHead and its last kTail
// events: a one-day soak of 10,000 peers rekeying every few minutes would otherwise hold
// millions of events. Failures are kept elsewhere, up to their own cap (PeerTracker).
#include <cstdint>
#include <vector>

#include "reports/report.hpp"

namespace ist::run {

class TimelineLog {
 public:
  static constexpr std::size_t kHead = 8, kTail = 8;

  explicit TimelineLog(uint32_t peers = 0) : events_(peers), dropped_(peers, 0) {}

  void add(uint32_t peer, reports::PeerEvent e);
  // The peer's kept events in time order (the log is emptied for that peer).
  std::vector<reports::PeerEvent> take(uint32_t peer);
  // Events of the peer between its head and its tail that were counted but not kept.
  uint32_t dropped(uint32_t peer) const { return peer < dropped_.size() ? dropped_[peer] : 0; }
  uint64_t dropped_total() const;
  uint32_t size() const { return static_cast<uint32_t>(events_.size()); }

 private:
  std::vector<std::vector<reports::PeerEvent>> events_;
  std::vector<uint32_t> dropped_;
};

}  // namespace ist::run
