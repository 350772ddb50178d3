#include "fleet/peer_tracker.hpp"

namespace ist::fleet {

const char* to_string(PeerState s) {
  switch (s) {
    case PeerState::idle: return "idle";
    case PeerState::connecting: return "connecting";
    case PeerState::established: return "established";
    case PeerState::failed: return "failed";
    case PeerState::down: return "down";
  }
  return "?";
}

const char* to_string(FailureKind k) {
  switch (k) {
    case FailureKind::evidence: return "evidence";
    case FailureKind::no_response: return "no_response";
    case FailureKind::harness: return "harness";
    case FailureKind::abandoned: return "abandoned";
  }
  return "?";
}

const char* to_string(PeerObservation::Kind k) {
  using K = PeerObservation::Kind;
  switch (k) {
    case K::initiate_sent: return "initiate";
    case K::ike_up: return "ike_up";
    case K::child_up: return "child_up";
    case K::ike_down: return "ike_down";
    case K::child_down: return "child_down";
    case K::ike_rekeyed: return "ike_rekey";
    case K::child_rekeyed: return "child_rekey";
    case K::attempt_failed: return "failed";
    case K::attempt_timeout: return "attempt_timeout";
    case K::retransmitted: return "retransmit";
    case K::rekey_failed: return "rekey_failed";
    case K::lost: return "lost";
  }
  return "?";
}

void PeerTracker::set_state(PeerRecord& p, PeerState s) {
  auto dec = [](uint32_t& c) { if (c) --c; };
  switch (p.state) {
    case PeerState::connecting: dec(connecting_); break;
    case PeerState::established: dec(established_); break;
    case PeerState::failed: dec(failed_); break;
    default: break;
  }
  p.state = s;
  switch (s) {
    case PeerState::connecting: ++connecting_; break;
    case PeerState::established: ++established_; break;
    case PeerState::failed: ++failed_; break;
    default: break;
  }
}

bool PeerTracker::end_attempt(PeerRecord& p, const PeerObservation& o) {
  // Only a peer still connecting can fail; an establishment that comes later anyway
  // (child_up after this) turns it into established again.
  if (p.state != PeerState::connecting) return false;
  p.failure = o.detail.empty() ? to_string(o.kind) : o.detail;
  p.failure_kind = o.failure;
  if (o.kind == PeerObservation::Kind::attempt_timeout) {
    // The engine gives an unanswered attempt up itself within its retransmit budget; if it
    // never even retransmitted, the SUT's silence is not what the evidence shows.
    p.failure_kind = p.retransmits > 0 ? FailureKind::no_response : FailureKind::harness;
    if (p.retransmits == 0)
      p.failure += ", and the engine never retransmitted for it: it lost track of the attempt (" +
                   std::string(p.ike_up ? "IKE_SA up, no CHILD_SA outcome" : "no IKE_SA outcome") + ")";
  }
  p.failure_exchange = o.exchange;
  if (p.failure_kind == FailureKind::abandoned) {
    ++abandoned_;
    set_state(p, PeerState::down);
    return true;
  }
  harness_faults_ += p.failure_kind == FailureKind::harness;
  set_state(p, PeerState::failed);
  return true;
}

bool PeerTracker::observe(const PeerObservation& o) {
  if (o.peer >= peers_.size()) return false;
  PeerRecord& p = peers_[o.peer];
  using K = PeerObservation::Kind;
  switch (o.kind) {
    case K::initiate_sent:
      if (!first_initiate_) first_initiate_ = o.t;
      if (!last_initiate_ || o.t > *last_initiate_) last_initiate_ = o.t;
      ++attempts_;
      p.initiated = o.t;
      p.ike_up_at.reset();
      p.child_up_at.reset();
      ++p.attempts;
      p.retransmits = 0;
      set_state(p, PeerState::connecting);
      return true;
    case K::retransmitted:
      ++p.retransmits;
      return false;
    case K::ike_up:
      if (!p.ike_up) ++ike_active_;
      p.ike_up = true;
      if (!p.ike_up_at) p.ike_up_at = o.t;
      p.ike_since = o.t;
      return false;
    case K::child_up: {
      if (!p.child_up) ++child_active_;
      p.child_up = true;
      // The first CHILD_SA of an attempt establishes the peer; later ones (rekeys, extra
      // children) do not count again.
      if (p.state != PeerState::connecting && p.state != PeerState::failed) return false;
      if (p.state == PeerState::failed && p.child_up_at) return false;
      p.child_up_at = o.t;
      p.child_since = o.t;
      latencies_.push_back(ms_between(p.initiated, o.t));
      established_at_.push_back(o.t);
      if (!last_established_ || o.t > *last_established_) last_established_ = o.t;
      ++ever_established_;
      set_state(p, PeerState::established);
      return true;
    }
    case K::ike_down:
      if (p.ike_up && ike_active_) --ike_active_;
      if (p.child_up && child_active_) --child_active_;
      p.ike_up = p.child_up = false;
      if (p.state == PeerState::established) {
        set_state(p, PeerState::down);
        return true;
      }
      return false;
    case K::child_down:
      if (p.child_up && child_active_) --child_active_;
      p.child_up = false;
      return false;
    case K::ike_rekeyed:
      ++ike_rekeys_;
      if (window_open_) {
        ++window_ike_rekeys_;
        if (p.ike_since) {
          p.ike_interval_sum_s += ms_between(*p.ike_since, o.t) / 1000.0;
          ++p.ike_intervals;
        }
      }
      p.ike_since = o.t;
      return false;
    case K::child_rekeyed:
      ++child_rekeys_;
      if (o.took > p.slowest_child_rekey) {
        p.slowest_child_rekey = o.took;
        p.slowest_child_rekey_at = o.t;
      }
      if (window_open_) {
        ++window_child_rekeys_;
        if (p.child_since) {
          p.child_interval_sum_s += ms_between(*p.child_since, o.t) / 1000.0;
          ++p.child_intervals;
        }
      }
      p.child_since = o.t;
      return false;
    case K::attempt_failed:
    case K::attempt_timeout:
      return end_attempt(p, o);
    case K::rekey_failed:
      harness_faults_ += o.failure == FailureKind::harness;
      if (rekey_failures_.size() < kMaxRekeyFailures) rekey_failures_.push_back({o.peer, o.t, o.detail, o.failure});
      else ++rekey_failures_not_kept_;
      return false;
    case K::lost:
      // Counted once per peer that still held SAs; the engine's own down events may follow.
      if (!p.ike_up && !p.child_up) return false;
      if (p.ike_up && ike_active_) --ike_active_;
      if (p.child_up && child_active_) --child_active_;
      p.ike_up = p.child_up = false;
      ++lost_;
      if (p.state == PeerState::established) set_state(p, PeerState::down);
      return true;
  }
  return false;
}

double PeerTracker::window_rekey_rate_per_s() const {
  double rate = 0;
  for (const auto& p : peers_) {
    if (p.ike_intervals && p.ike_interval_sum_s > 0) rate += p.ike_intervals / p.ike_interval_sum_s;
    if (p.child_intervals && p.child_interval_sum_s > 0) rate += p.child_intervals / p.child_interval_sum_s;
  }
  return rate;
}

}  // namespace ist::fleet
