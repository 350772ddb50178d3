#pragma once
// Per-peer state and the metrics derived from it (docs/design.md, "Metrics"). Engines report what
// they observe; the tracker decides what it means: a peer is established when its IKE_SA
// and its first CHILD_SA are both up; it failed when its attempt ended without that or the
// harness stopped waiting for it. (Setup deadlines that only mark a delay are the
// classifier's business, not a failure here.) Pure logic, driven by timestamps, so it is tested with a fake clock.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.hpp"

namespace ist::fleet {

enum class PeerState : uint8_t { idle, connecting, established, failed, down };

// Whose word an attempt's end rests on, set by the engine that saw it end. A Windows code
// comes only from evidence a rule matches (run/classify_run.cpp) or from no answer at all; a
// harness fault never gets a code and fails the run; an abandoned attempt is not a failure.
enum class FailureKind : uint8_t {
  evidence,     // the responder's answer or its misbehaviour: a rule names it, else unclassified
  no_response,  // retransmits exhausted, or the harness's attempt timeout passed
  harness,      // the harness's own side failed: a local errno, a vici transport error, encoding
  abandoned,    // the harness cut the attempt short itself (teardown, storm, churn)
};

const char* to_string(FailureKind k);

const char* to_string(PeerState s);

// One observation about one peer, from whichever side saw it.
struct PeerObservation {
  enum class Kind : uint8_t {
    initiate_sent,   // the harness asked the engine to start this peer
    ike_up,
    child_up,
    ike_down,        // an established IKE_SA went away
    child_down,
    ike_rekeyed,
    child_rekeyed,
    attempt_failed,  // the engine says the attempt is over (gave up, auth failed, ...)
    attempt_timeout, // the harness stopped waiting (retransmit budget + margin passed):
                     // no_response if the engine retransmitted for this attempt, else
                     // harness (the engine lost track of it: not the SUT's silence)
    retransmitted,   // the engine re-sent an unanswered request of this peer's attempt
    rekey_failed,    // an established peer's rekey (or its delete of a replaced SA) failed;
                     // the SAs it has stay up (engines that see it: native)
    lost,            // the SUT died while this peer was up: its SAs went with it
  };
  Kind kind;
  uint32_t peer;
  MonoTime t;
  std::string detail;  // log line or reason, kept as evidence
  // attempt_failed and rekey_failed: what the detail is (attempt_timeout: see the kind).
  FailureKind failure = FailureKind::evidence;
  // child_rekeyed started by this side: from its CREATE_CHILD_SA request to the rekey's end,
  // when the engine measured it (-1 unknown). The native engine ends a rekey when the delete
  // of the replaced CHILD_SA is answered (one round trip after the CREATE_CHILD_SA answer);
  // a delete that goes unanswered makes it a rekey_failed instead of a child_rekeyed.
  std::chrono::milliseconds took{-1};
  // attempt_failed: the exchange the attempt failed in ("IKE_SA_INIT", "IKE_AUTH"), when the
  // engine knows it (native); empty: unknown, the classifier infers it from what was up.
  const char* exchange = nullptr;
};

const char* to_string(PeerObservation::Kind k);

struct PeerRecord {
  PeerState state = PeerState::idle;
  bool ike_up = false;
  bool child_up = false;
  MonoTime initiated{};
  std::optional<MonoTime> ike_up_at;
  std::optional<MonoTime> child_up_at;
  uint32_t attempts = 0;
  uint32_t retransmits = 0;  // of the current attempt: evidence that the SUT stayed silent
  std::string failure;  // last failure reason
  FailureKind failure_kind = FailureKind::evidence;  // of the last failure
  const char* failure_exchange = nullptr;  // of the last failure, when the engine knew it
  // When the current IKE / CHILD SA began (up or last rekey), and the rekey intervals that
  // ended inside the counting window: the steady-state rate estimator's input.
  std::optional<MonoTime> ike_since, child_since;
  double ike_interval_sum_s = 0, child_interval_sum_s = 0;
  uint32_t ike_intervals = 0, child_intervals = 0;
  // The slowest CHILD rekey this peer started (request to answer) and when it completed:
  // a quick mode of its own, held against peers.deadlines.child by the classifier.
  std::chrono::milliseconds slowest_child_rekey{-1};
  std::optional<MonoTime> slowest_child_rekey_at;
};

// A failed rekey of an established peer (PeerObservation::Kind::rekey_failed). Kept in one
// list, not per peer: most runs have none.
struct RekeyFailure {
  uint32_t peer;
  MonoTime t;
  std::string detail;
  FailureKind kind = FailureKind::evidence;
};

class PeerTracker {
 public:
  explicit PeerTracker(uint32_t peers) : peers_(peers) {}

  // Returns true when the observation changed the peer's state.
  bool observe(const PeerObservation& o);

  const PeerRecord& peer(uint32_t i) const { return peers_.at(i); }
  uint32_t size() const { return static_cast<uint32_t>(peers_.size()); }

  uint32_t established() const { return established_; }   // currently established
  uint32_t ever_established() const { return ever_established_; }
  uint32_t failed() const { return failed_; }             // currently failed
  uint32_t connecting() const { return connecting_; }
  uint64_t ike_rekeys() const { return ike_rekeys_; }
  uint64_t child_rekeys() const { return child_rekeys_; }
  uint64_t ike_active() const { return ike_active_; }
  uint64_t child_active() const { return child_active_; }
  // Attempts the harness cut short (not failures), attempts and rekeys that failed on the
  // harness's own side, and peers that were up when the SUT died.
  uint64_t abandoned() const { return abandoned_; }
  uint64_t harness_faults() const { return harness_faults_; }
  uint64_t lost() const { return lost_; }

  // Setup latency of every establishment (initiate -> CHILD_SA up), ms.
  const std::vector<double>& setup_latencies_ms() const { return latencies_; }
  // When each of those establishments happened (CHILD_SA up), in the same order.
  const std::vector<MonoTime>& established_times() const { return established_at_; }
  // The first kMaxRekeyFailures of them (a long soak whose rekeys all fail would otherwise
  // grow without bound); the rest are only counted.
  static constexpr std::size_t kMaxRekeyFailures = 100000;
  const std::vector<RekeyFailure>& rekey_failures() const { return rekey_failures_; }
  uint64_t rekey_failures_not_kept() const { return rekey_failures_not_kept_; }
  std::optional<MonoTime> first_initiate() const { return first_initiate_; }
  std::optional<MonoTime> last_initiate() const { return last_initiate_; }
  uint64_t attempts() const { return attempts_; }  // initiations sent, every phase
  std::optional<MonoTime> last_established() const { return last_established_; }

  // Counting window for renegotiations (hold phase): only rekeys observed while open count.
  void set_rekey_window(bool open) { window_open_ = open; }
  uint64_t window_ike_rekeys() const { return window_ike_rekeys_; }
  uint64_t window_child_rekeys() const { return window_child_rekeys_; }
  // Steady-state renegotiations per second (wall): the sum over SAs of 1 / (mean interval
  // between that SA's consecutive rekeys, or establishment and first rekey) for intervals
  // that ended inside the window. Unlike count / window it does not depend on whether the
  // window happens to cut a wave of synchronized rekeys in half.
  double window_rekey_rate_per_s() const;

 private:
  bool end_attempt(PeerRecord& p, const PeerObservation& o);  // attempt_failed / attempt_timeout
  void set_state(PeerRecord& p, PeerState s);
  std::vector<PeerRecord> peers_;
  uint32_t established_ = 0, ever_established_ = 0, failed_ = 0, connecting_ = 0;
  uint64_t ike_rekeys_ = 0, child_rekeys_ = 0, ike_active_ = 0, child_active_ = 0;
  uint64_t window_ike_rekeys_ = 0, window_child_rekeys_ = 0;
  uint64_t abandoned_ = 0, harness_faults_ = 0, lost_ = 0;
  bool window_open_ = false;
  std::vector<double> latencies_;
  std::vector<MonoTime> established_at_;
  std::vector<RekeyFailure> rekey_failures_;
  uint64_t rekey_failures_not_kept_ = 0;
  std::optional<MonoTime> first_initiate_, last_initiate_, last_established_;
  uint64_t attempts_ = 0;
};

}  // namespace ist::fleet
