#include "xfrm/run_observer.hpp"

#include "xfrm/json_lines.hpp"

namespace ist::xfrm {

namespace {

// What the timelines and the classifier need; policy churn stays in the counts.
bool kept(const Body& b) {
  if (std::holds_alternative<Acquire>(b) || std::holds_alternative<Expire>(b)) return true;
  if (auto* s = std::get_if<SaChange>(&b)) return s->kind == SaChange::Kind::deleted;
  return false;
}

}  // namespace

Status RunObserver::add(EventLoop& loop, std::string role, const NetnsRunner& in) {
  auto w = std::make_unique<Watched>();
  w->role = std::move(role);
  IST_TRY_ASSIGN(w->sampler, Sampler::open(in));
  Watched* self = w.get();
  Monitor::Callbacks cb;
  cb.on_event = [this, self](const Event& e) {
    if (std::holds_alternative<Acquire>(e.msg.body)) ++self->acquires;
    if (std::holds_alternative<Expire>(e.msg.body)) ++self->expires;
    record(*self, e.t, e.msg.body);
  };
  IST_TRY_ASSIGN(w->monitor, Monitor::start(loop, in, std::move(cb)));
  watched_.push_back(std::move(w));
  return ok();
}

void RunObserver::record(Watched& w, MonoTime t, const Body& body) {
  if (!kept(body)) return;
  if (events_.size() >= kMaxEvents) {
    ++dropped_;
    return;
  }
  events_.push_back({t, w.role, body});
}

Status RunObserver::add_lines(EventLoop& loop, std::string role, unique_fd lines) {
  auto w = std::make_unique<Watched>();
  w->role = std::move(role);
  Watched* self = w.get();
  IST_TRY_ASSIGN(w->feed, LineFeed::start(loop, std::move(lines),
                                          [this, self](MonoTime t, Body b) { record(*self, t, b); }));
  std::erase_if(watched_, [&](const auto& o) { return o->role == self->role; });
  watched_.push_back(std::move(w));
  return ok();
}

std::vector<KernelSample> RunObserver::sample(MonoTime now) {
  std::vector<KernelSample> out;
  for (auto& w : watched_) {
    if (w->feed) {
      w->feed->drain();  // lines up to now belong to this second
      if (w->feed->closed() && !w->feed_closed_after) w->feed_closed_after = w->feed->lines();
      auto t = w->feed->take();
      if (!t) continue;  // nothing from the other kernel yet
      out.push_back({w->role, t->counts, t->acquires, t->expires, std::move(t->xfrm_stat_delta)});
      continue;
    }
    if (!w->monitor) continue;
    w->monitor->drain();  // notifications up to now belong to this second
    auto s = w->sampler.sample(now);
    if (!s) {
      ++sample_errors_;
      continue;
    }
    out.push_back({w->role, s->counts, w->acquires, w->expires, std::move(s->xfrm_stat_delta)});
    w->acquires = w->expires = 0;
  }
  return out;
}

void RunObserver::stop() {
  for (auto& w : watched_) {
    if (w->feed) w->feed_malformed = w->feed->malformed();
    w->feed.reset();
    w->monitor.reset();
    w->sampler = Sampler();
  }
}

std::vector<std::string> RunObserver::feed_problems() const {
  std::vector<std::string> out;
  for (const auto& w : watched_) {
    if (w->feed_closed_after)
      out.push_back(w->role + " kernel's watcher closed its stream while the run observed it (after " +
                    std::to_string(*w->feed_closed_after) + " line(s)); later seconds repeat its last counts");
    const uint64_t malformed = w->feed ? w->feed->malformed() : w->feed_malformed;
    if (malformed) out.push_back(w->role + " kernel's watcher sent " + std::to_string(malformed) + " malformed line(s)");
  }
  return out;
}

uint64_t RunObserver::losses() const {
  uint64_t n = 0;
  for (const auto& w : watched_)
    if (w->monitor) n += w->monitor->stats().losses;
  return n;
}

std::vector<PeerKernelEvent> join_with_peers(const std::vector<RecordedEvent>& events,
                                             const std::unordered_map<std::string, uint32_t>& peer_of_address) {
  std::vector<PeerKernelEvent> out;
  for (const auto& e : events) {
    for (const auto& a : event_addresses(e.body)) {
      auto it = peer_of_address.find(a);
      if (it == peer_of_address.end()) continue;
      out.push_back({it->second, a, e.t, e.role, std::string(event_kind(e.body)), describe(e.body)});
      break;
    }
  }
  return out;
}

}  // namespace ist::xfrm
