#pragma once
// The classifier's input: one thing a party observed, independent of where it was seen.
// Producers: initiator-side vici events and per-peer deadline expiries (fleet/run), responder
// log lines (charon::LogJoiner via harness/charon/log_observations.hpp), XFRM counter deltas (xfrm observer).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ist::taxonomy {

// Who observed it: the peer side (initiator of the peer's IKE_SA) or the SUT (responder).
enum class Side : uint8_t { initiator, responder };
enum class SaKind : uint8_t { ike, child };

// What was observed. Only failure-like or informational observations: successes are not
// classifier input.
enum class Observation : uint8_t {
  ike_sa_limit_hit,        // responder refused an IKE_SA_INIT: charon.ikesa_limit
  half_open_limit,         // responder refused: init_limit_half_open
  per_ip_half_open_limit,  // responder refused: block_threshold (per-IP half-open)
  job_load_limit,          // responder refused: init_limit_job_load
  cookie_sent,             // responder answered with a COOKIE notify
  no_response,             // retransmits exhausted ("giving up after N retransmits")
  ike_deadline_missed,     // IKE_SA established later than peers.deadlines.ike (harness)
  child_deadline_missed,   // CHILD_SA established later than peers.deadlines.child (harness)
  child_dropped_no_ike,    // CHILD_SA request (acquire/initiate) dropped, no IKE_SA up
  rekey_collision,         // "detected X_REKEY collision with ..."
  no_proposal_chosen,      // proposal mismatch (either side, IKE or CHILD)
  ts_unacceptable,         // traffic selector mismatch
  authentication_failed,   // AUTH verification failed / AUTHENTICATION_FAILED received
  no_ike_config,           // responder: no IKE config for the addresses
  no_peer_config,          // responder: no peer config for the identities
  spi_alloc_failed,        // SPI allocation refused by the kernel/libipsec
  sa_install_failed,       // SAD install refused
  policy_install_failed,   // SPD install refused
  notify_error,            // any other error notify received
  // malformed messages (the native engine's malform impairment and floods send them)
  unsupported_critical_payload,  // UNSUPPORTED_CRITICAL_PAYLOAD received / "payload is critical!"
  invalid_major_version,   // INVALID_MAJOR_VERSION received / "received unsupported IKE version"
  invalid_syntax,          // INVALID_SYNTAX received (the peer's view; the SUT's log names the payload)
  sa_payload_invalid,      // responder: SA payload could not be parsed or verified
  ke_payload_invalid,      // responder: KE payload unusable ("invalid DH public value size")
  nonce_payload_invalid,   // responder: Nonce payload verification failed
  payload_invalid,         // responder: another payload could not be parsed or verified
  ike_hard_expired,        // IKE_SA reached its hard lifetime without replacement (harness)
  child_hard_expired,      // "closing expired CHILD_SA" (hard lifetime reached)
  delete_received,         // peer sent a DELETE (informational)
  xfrm_in_no_states,       // xfrm_stat XfrmInNoStates delta
  xfrm_in_state_expired,   // XfrmInStateExpired
  xfrm_in_seq_error,       // XfrmInStateSeqError
  xfrm_in_proto_error,     // XfrmInStateProtoError
  xfrm_out_no_states,      // XfrmOutNoStates (packets dropped while SAs negotiate)
};
inline constexpr int kObservationCount = static_cast<int>(Observation::xfrm_out_no_states) + 1;

std::string_view to_string(Observation o);
std::string_view to_string(Side s);
std::string_view to_string(SaKind s);
std::optional<Observation> observation_from_string(std::string_view name);

struct ObservedEvent {
  int64_t t_ms = 0;          // since run start (runs) or the log's own clock (classify)
  Side side = Side::responder;
  Observation what = Observation::notify_error;
  SaKind sa = SaKind::ike;
  std::string exchange;      // IKE_SA_INIT | IKE_AUTH | CREATE_CHILD_SA | INFORMATIONAL | ""
  std::string peer;          // stable peer name when the source can tell peers apart, else ""
  std::string address;       // the peer's IKE address when known, else ""
  // Key of one attempt (e.g. "uid:12", "spi:9a6bad842e4a15ab", a harness attempt number).
  // Events with the same rule, side, SA kind and non-empty attempt become one record (a refused
  // peer's retransmits); an empty key makes each event its own attempt. Keys must be unique
  // across sources: charon unique ids and SPIs repeat between daemons, so prefix them with
  // the source (e.g. "sut:uid:12").
  std::string attempt;
  uint64_t count = 1;        // occurrences this event stands for (counter deltas); >= 1
  std::vector<std::string> evidence;  // raw log lines / event descriptions, oldest first
};

}  // namespace ist::taxonomy
