#include "run/orchestrator.hpp"

#include <algorithm>

#include "common/log.hpp"
#include "common/signals.hpp"

namespace ist::run {

using namespace std::chrono_literals;
using fleet::PeerObservation;
using K = fleet::PeerObservation::Kind;

const char* to_string(Phase::Kind k) {
  switch (k) {
    case Phase::Kind::connect: return "connect";
    case Phase::Kind::hold: return "hold";
    case Phase::Kind::storm: return "storm";
    case Phase::Kind::churn: return "churn";
    case Phase::Kind::teardown: return "teardown";
  }
  return "?";
}

Orchestrator::Orchestrator(EventLoop& loop, fleet::PeerEngine& engine, Sut& sut, OrchestratorPlan plan,
                           Progress* progress)
    : loop_(loop),
      engine_(engine),
      sut_(sut),
      plan_(std::move(plan)),
      progress_(progress),
      tracker_(engine.peer_count()),
      rng_(plan_.seed),
      reconnect_on_down_(engine.peer_count(), false) {
  result_.timelines = TimelineLog(engine.peer_count());
}

namespace {
// Observations that only an answer from the SUT can produce.
bool answered_by_sut(const PeerObservation& o) {
  switch (o.kind) {
    case K::ike_up:
    case K::child_up:
    case K::ike_rekeyed:
    case K::child_rekeyed: return true;
    case K::attempt_failed:
    case K::rekey_failed: return o.failure == fleet::FailureKind::evidence;
    default: return false;
  }
}
}  // namespace

void Orchestrator::on_observation(const PeerObservation& o) {
  const bool changed = tracker_.observe(o);
  if (changed && o.kind == K::child_up && plan_.on_established)
    plan_.on_established(o.peer, tracker_.peer(o.peer).initiated, o.t);
  if (answered_by_sut(o)) sut_answered(o.t);
  result_.timelines.add(o.peer, {ms_between(t0_, o.t), fleet::to_string(o.kind), o.detail});
  if (o.kind == K::ike_down && o.peer < reconnect_on_down_.size() && reconnect_on_down_[o.peer]) {
    reconnect_on_down_[o.peer] = false;
    uint32_t peer = o.peer;
    // Give the daemon a moment to forget the old SA before the same conn starts again.
    loop_.after(50ms, [this, peer] {
      if (tearing_down_ || should_stop()) return;  // teardown began meanwhile: stay down
      tracker_.observe({K::initiate_sent, peer, loop_.clock().now(), ""});
      result_.timelines.add(peer, {ms_between(t0_, loop_.clock().now()), "initiate", "reconnect"});
      engine_.initiate(peer);
    });
  }
}

bool Orchestrator::should_stop() const {
  return signals::stop_requested() || !result_.fault.empty() || result_.sut_died_at_s.has_value();
}

// Ends an open unresponsive span at `end` (an answer, the SUT's death, the run's end).
void Orchestrator::end_silence(MonoTime end) {
  if (!sut_silent_since_) return;
  result_.sut_unresponsive_s.emplace_back(since_start_s(*sut_silent_since_), since_start_s(end));
  sut_silent_since_.reset();
}

void Orchestrator::sut_answered(MonoTime now) {
  sut_last_answer_ = std::max(sut_last_answer_, now);
  if (sut_silent_since_)
    log::warn("the SUT answers again after ", static_cast<int>(ms_between(*sut_silent_since_, now) / 1000), " s");
  end_silence(now);
}

void Orchestrator::check_sut(MonoTime now) {
  if (result_.sut_died_at_s) return;
  std::string why;
  if (!sut_.healthy(&why)) {
    // Every peer still holding SAs lost them with the SUT; the phases stop here.
    result_.sut_died_at_s = since_start_s(now);
    result_.sut_death = why;
    log::error("the SUT died at ", static_cast<int>(*result_.sut_died_at_s), " s: ", why);
    for (uint32_t i = 0; i < tracker_.size(); ++i)
      if (tracker_.peer(i).ike_up || tracker_.peer(i).child_up) on_observation({K::lost, i, now, "the SUT died: " + why});
    end_silence(now);
    return;
  }
  // CPU and RSS up to the moment of death (the Sut keeps its last reading).
  const ProcessUsage u = sut_.usage();
  const bool busy = sut_cpu_last_s_ >= 0 && u.cpu_s > sut_cpu_last_s_ + 0.01;
  sut_cpu_last_s_ = u.cpu_s;
  if (busy) return;  // working (a long list-sas on a saturated SUT), if not answering yet
  // Checked once a second, before this second's stats request: the last answer is always
  // about a second old, so one tick of slack keeps a short threshold from firing every tick.
  if (!sut_silent_since_ && now - sut_last_answer_ > plan_.sut_unresponsive_after + 1s) {
    sut_silent_since_ = sut_last_answer_;
    log::warn("the SUT has answered neither vici nor any peer for ",
              static_cast<int>(ms_between(sut_last_answer_, now) / 1000), " s and spends no CPU: unresponsive");
  }
}

void Orchestrator::tick() {
  auto now = loop_.clock().now();
  // Attempts that outlived the engine's own give-up time: the harness stops waiting.
  const auto limit = engine_.attempt_timeout();
  for (uint32_t i = 0; i < tracker_.size(); ++i) {
    const auto& p = tracker_.peer(i);
    if (p.state == fleet::PeerState::connecting && now - p.initiated > limit) {
      on_observation({K::attempt_timeout, i, now,
                      "no result within " + std::to_string(limit.count() / 1000) + " s of initiate"});
    }
  }
  std::string why;
  if (result_.fault.empty() && !engine_.healthy(&why)) result_.fault = "peer daemon " + why;
  check_sut(now);

  reports::TimeseriesPoint pt;
  pt.t_s = since_start_s(now);
  uint64_t ike_pending = 0, child_pending = 0;
  for (uint32_t i = 0; i < tracker_.size(); ++i) {
    const auto& p = tracker_.peer(i);
    if (p.state != fleet::PeerState::connecting) continue;
    if (p.ike_up)
      ++child_pending;
    else
      ++ike_pending;
  }
  pt.ike_active = tracker_.ike_active();
  pt.child_active = tracker_.child_active();
  pt.ike_pending = ike_pending;
  pt.child_pending = child_pending;
  pt.ike_failed = tracker_.failed();
  pt.child_failed = 0;
  for (uint32_t i = 0; i < tracker_.size(); ++i) {
    const auto& p = tracker_.peer(i);
    if (p.state == fleet::PeerState::failed && p.ike_up) ++pt.child_failed;
  }
  pt.ike_failed -= std::min<uint64_t>(pt.ike_failed, pt.child_failed);
  pt.established_total = tracker_.ever_established();
  // The SUT's CPU in this second (check_sut just read it; a dead SUT's stays at its last).
  if (sut_cpu_last_s_ >= 0) {
    pt.sut_cpu_s = std::max(0.0, sut_cpu_last_s_ - sut_cpu_tick_last_s_);
    sut_cpu_tick_last_s_ = sut_cpu_last_s_;
  }
  // This second's initiations and completed rekeys (the tracker counts since the start).
  pt.attempts = tracker_.attempts() - attempts_last_tick_;
  pt.ike_rekeys = tracker_.ike_rekeys() - ike_rekeys_last_tick_;
  pt.child_rekeys = tracker_.child_rekeys() - child_rekeys_last_tick_;
  attempts_last_tick_ = tracker_.attempts();
  ike_rekeys_last_tick_ = tracker_.ike_rekeys();
  child_rekeys_last_tick_ = tracker_.child_rekeys();
  rate_last_tick_ = static_cast<double>(pt.established_total - established_last_tick_);
  established_last_tick_ = pt.established_total;
  if (plan_.on_tick) plan_.on_tick(pt);
  result_.timeseries.push_back(pt);
  // The SUT's own counters for this second arrive a moment later.
  if (ticking_) {
    std::size_t idx = result_.timeseries.size() - 1;
    sut_.sample_stats([this, idx](Result<reports::SutSample> s) {
      if (s) sut_answered(loop_.clock().now());
      if (s && idx < result_.timeseries.size()) result_.timeseries[idx].sut = *s;
    });
  }

  if (progress_) {
    ProgressSnapshot s;
    s.phase = phase_name_;
    s.t_s = pt.t_s;
    s.peers = tracker_.size();
    s.established = tracker_.established();
    s.failed = tracker_.failed();
    s.in_flight = tracker_.connecting();
    s.rate_per_s = rate_last_tick_;
    s.rekeys = tracker_.ike_rekeys() + tracker_.child_rekeys();
    progress_->update(s);
  }
  if (ticking_) loop_.after(1s, [this] { tick(); });
}

bool Orchestrator::wait(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = loop_.clock().now() + limit;
  auto r = loop_.run_until([&] { return done() || should_stop(); }, deadline);
  if (!r) {
    result_.fault = "event loop: " + r.error().describe();
    return false;
  }
  return !should_stop();
}

std::vector<uint32_t> Orchestrator::established_peers() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < tracker_.size(); ++i)
    if (tracker_.peer(i).state == fleet::PeerState::established) out.push_back(i);
  return out;
}

void Orchestrator::connect_peers(const std::vector<uint32_t>& peers, const fleet::Arrival& arrival) {
  if (peers.empty()) return;
  auto start = loop_.clock().now();
  // One pacing timer walks the schedule instead of a timer per peer. The closure owns its
  // copy of the list: a timer left over after an early stop must not point at a dead one.
  auto list = std::make_shared<const std::vector<uint32_t>>(peers);
  auto next = std::make_shared<std::size_t>(0);
  auto pace = std::make_shared<std::function<void()>>();
  *pace = [this, start, next, pace, list, arrival] {
    if (should_stop()) return;
    auto now = loop_.clock().now();
    while (*next < list->size() && start + arrival_offset(arrival, *next) <= now) {
      uint32_t peer = (*list)[*next];
      on_observation({K::initiate_sent, peer, now, ""});
      engine_.initiate(peer);
      ++*next;
    }
    if (*next < list->size()) loop_.at(start + arrival_offset(arrival, *next), *pace);
  };
  (*pace)();
  auto last_offset = std::chrono::duration_cast<std::chrono::milliseconds>(arrival_offset(arrival, peers.size() - 1));
  auto limit = last_offset + engine_.attempt_timeout() + 15s;
  wait([&] { return *next >= peers.size() && tracker_.connecting() == 0; }, limit);
  // Break the timer's self-reference so the closure is freed.
  *pace = nullptr;
}

void Orchestrator::run_connect(const Phase& p, bool first) {
  std::vector<uint32_t> todo;
  for (uint32_t i = 0; i < tracker_.size(); ++i)
    if (tracker_.peer(i).state != fleet::PeerState::established) todo.push_back(i);
  connect_peers(todo, p.arrival);
  if (!first) return;
  result_.established_at_connect_end = tracker_.established();
  result_.failed_at_connect_end = tracker_.failed();
  result_.connect_latencies_ms = tracker_.setup_latencies_ms();
  if (tracker_.first_initiate()) result_.connect_first_initiate_s = since_start_s(*tracker_.first_initiate());
  if (tracker_.last_initiate()) result_.connect_last_initiate_s = since_start_s(*tracker_.last_initiate());
  result_.connect_attempts = tracker_.attempts();
  if (tracker_.last_established())
    result_.connect_last_established_s = since_start_s(*tracker_.last_established());
  // The SUT's own count, to check the harness's accounting against. A saturated SUT may
  // answer after the wait (20,000 SAs in a TCG guest took longer): the answer then has
  // nowhere to go, so the callback holds its own state, not this frame's.
  struct CountState {
    bool answered = false, expired = false;
    Result<uint64_t> n = Error("no answer");
  };
  auto state = std::make_shared<CountState>();
  sut_.count_established([this, state](Result<uint64_t> n) {
    if (state->expired) return;
    if (n) sut_answered(loop_.clock().now());
    state->answered = true;
    state->n = std::move(n);
  });
  const bool stopped = !wait([&] { return state->answered; }, plan_.sut_count_timeout);
  state->expired = true;
  if (!state->answered && stopped)
    result_.sut_count_problem = std::string("the SUT's IKE_SA count was not read: the run was stopping (") +
                                (result_.fault.empty() ? "interrupted, or the SUT died" : "a harness fault, see the notes") +
                                ")";
  else if (!state->answered)
    result_.sut_count_problem = "the SUT did not answer list-sas within " +
                                std::to_string(plan_.sut_count_timeout.count()) + " ms at the end of connect";
  else if (state->n)
    result_.sut_established_at_connect_end = *state->n;
  else
    result_.sut_count_problem = "could not read the SUT's IKE_SA count: " + state->n.error().describe();
  if (!result_.sut_count_problem.empty()) log::warn(result_.sut_count_problem);
}

void Orchestrator::run_hold(const Phase& p) {
  auto start = loop_.clock().now();
  tracker_.set_rekey_window(true);
  uint64_t ike0 = tracker_.window_ike_rekeys(), child0 = tracker_.window_child_rekeys();
  if (plan_.on_hold_start) plan_.on_hold_start(p.duration);
  wait([] { return false; }, p.duration);
  if (plan_.on_hold_end) plan_.on_hold_end();
  tracker_.set_rekey_window(false);
  result_.hold_wall_s += ms_between(start, loop_.clock().now()) / 1000.0;
  result_.hold_ike_rekeys += tracker_.window_ike_rekeys() - ike0;
  result_.hold_child_rekeys += tracker_.window_child_rekeys() - child0;
  result_.hold_rekey_rate_per_s = tracker_.window_rekey_rate_per_s();
}

void Orchestrator::run_storm(const Phase& p) {
  auto up = established_peers();
  std::shuffle(up.begin(), up.end(), rng_);
  up.resize(static_cast<std::size_t>(static_cast<double>(up.size()) * p.share + 0.5));
  if (up.empty()) return;
  // Everyone in the storm drops at once, then comes back spread over `within`.
  for (uint32_t peer : up) engine_.terminate(peer);
  wait([&] {
    return std::all_of(up.begin(), up.end(), [&](uint32_t i) { return !tracker_.peer(i).ike_up; });
  }, 30s);
  double n = static_cast<double>(up.size());
  double window_s = std::max(0.001, std::chrono::duration<double>(p.within).count());
  connect_peers(up, p.within.count() > 0 ? fleet::Arrival::at_rate(n / window_s) : fleet::Arrival::burst());
}

void Orchestrator::run_churn(const Phase& p) {
  if (p.rate_per_s <= 0) return;
  auto interval = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / p.rate_per_s));
  auto end = loop_.clock().now() + p.duration;
  auto step = std::make_shared<std::function<void()>>();
  *step = [this, end, interval, step] {
    if (should_stop() || loop_.clock().now() >= end) return;
    auto up = established_peers();
    if (!up.empty()) {
      uint32_t peer = up[std::uniform_int_distribution<std::size_t>(0, up.size() - 1)(rng_)];
      reconnect_on_down_[peer] = true;  // initiated again when its IKE_SA is gone
      result_.timelines.add(peer, {ms_between(t0_, loop_.clock().now()), "terminate", "churn"});
      engine_.terminate(peer);
    }
    loop_.after(interval, *step);
  };
  (*step)();
  wait([&] { return loop_.clock().now() >= end; }, p.duration + 1s);
  // Let the last leavers come back before the next phase.
  wait([&] { return tracker_.connecting() == 0; }, engine_.attempt_timeout());
  *step = nullptr;
}

// How long teardown waits for the peers after a harness fault.
constexpr std::chrono::milliseconds kTeardownAfterFault{5000};

void Orchestrator::run_teardown() {
  tearing_down_ = true;
  std::fill(reconnect_on_down_.begin(), reconnect_on_down_.end(), false);
  for (uint32_t i = 0; i < tracker_.size(); ++i)
    if (tracker_.peer(i).ike_up || tracker_.peer(i).state == fleet::PeerState::connecting) engine_.terminate(i);
  // Teardown also runs after Ctrl-C: wait with the loop directly, not through should_stop().
  // After a harness fault (a hung peer daemon) some peers can never go down: the others get
  // a short while, the run's verdict is void anyway.
  auto deadline = loop_.clock().now() + (result_.fault.empty() ? plan_.teardown_timeout
                                                                : std::min<std::chrono::milliseconds>(
                                                                      plan_.teardown_timeout, kTeardownAfterFault));
  (void)loop_.run_until([&] { return tracker_.ike_active() == 0; }, deadline);
}

OrchestratorResult Orchestrator::execute() {
  t0_ = loop_.clock().now();
  sut_last_answer_ = t0_;
  sut_cpu_tick_last_s_ = sut_.usage().cpu_s;  // the SUT's start is not the first second's
  result_.wall_start = std::chrono::system_clock::now();
  engine_.set_sink([this](const PeerObservation& o) { on_observation(o); });
  if (signals::stop_fd() >= 0) {
    (void)loop_.add_fd(signals::stop_fd(), EPOLLIN, [](uint32_t) {});
  }
  ticking_ = true;
  loop_.after(1s, [this] { tick(); });

  bool first_connect = true;
  bool tore_down = false;
  for (const Phase& p : plan_.phases) {
    if (should_stop()) break;
    phase_name_ = to_string(p.kind);
    PhaseSpan span{phase_name_, since_start_s(loop_.clock().now()), 0};
    log::debug("phase ", phase_name_, " starts");
    switch (p.kind) {
      case Phase::Kind::connect:
        run_connect(p, first_connect);
        first_connect = false;
        break;
      case Phase::Kind::hold: run_hold(p); break;
      case Phase::Kind::storm: run_storm(p); break;
      case Phase::Kind::churn: run_churn(p); break;
      case Phase::Kind::teardown:
        run_teardown();
        tore_down = true;
        break;
    }
    span.end_s = since_start_s(loop_.clock().now());
    result_.phases.push_back(span);
  }
  result_.interrupted = signals::stop_requested();
  if (first_connect) {
    // Stopped before connect finished: report what connect had reached.
    result_.established_at_connect_end = tracker_.established();
    result_.failed_at_connect_end = tracker_.failed();
    result_.connect_latencies_ms = tracker_.setup_latencies_ms();
  }
  if (!tore_down) {
    phase_name_ = "teardown";
    PhaseSpan span{phase_name_, since_start_s(loop_.clock().now()), 0};
    run_teardown();
    span.end_s = since_start_s(loop_.clock().now());
    result_.phases.push_back(span);
  }
  ticking_ = false;
  tick();  // a last sample, after teardown
  end_silence(loop_.clock().now());  // still silent at the end
  if (progress_) progress_->finish();
  result_.sut_usage = sut_.usage();
  result_.peers_usage = engine_.usage();
  if (signals::stop_fd() >= 0) loop_.remove_fd(signals::stop_fd());
  return std::move(result_);
}

}  // namespace ist::run
