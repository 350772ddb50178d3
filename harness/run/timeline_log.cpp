#include "run/timeline_log.hpp"

#include <algorithm>

namespace ist::run {

void TimelineLog::add(uint32_t peer, reports::PeerEvent e) {
  if (peer >= events_.size()) return;
  auto& tl = events_[peer];
  if (tl.size() < kHead + kTail) {
    // An established peer holds initiate, IKE up and CHILD up until teardown: room for
    // exactly those first (doubling would leave 4 x 72 bytes per peer).
    if (tl.empty()) tl.reserve(3);
    tl.push_back(std::move(e));
    return;
  }
  // The tail is a ring: overwrite its oldest entry.
  tl[kHead + dropped_[peer] % kTail] = std::move(e);
  ++dropped_[peer];
}

std::vector<reports::PeerEvent> TimelineLog::take(uint32_t peer) {
  if (peer >= events_.size()) return {};
  auto tl = std::move(events_[peer]);
  events_[peer].clear();
  if (dropped_[peer] > 0) {
    // Oldest tail entry first, then say what was left out between head and tail.
    std::rotate(tl.begin() + kHead, tl.begin() + kHead + dropped_[peer] % kTail, tl.end());
    const double t = tl[kHead].t_ms;
    tl.insert(tl.begin() + kHead,
              reports::PeerEvent{t, "summarised", std::to_string(dropped_[peer]) + " events not kept (counted in the summary)"});
  }
  std::stable_sort(tl.begin(), tl.end(), [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
  return tl;
}

uint64_t TimelineLog::dropped_total() const {
  uint64_t n = 0;
  for (auto d : dropped_) n += d;
  return n;
}

}  // namespace ist::run
