#include "taxonomy/rules.hpp"

#include <array>
#include <set>
#include <string>

namespace ist::taxonomy {
namespace {

using O = Observation;
constexpr auto kI = Side::initiator;
constexpr auto kR = Side::responder;
constexpr auto kIke = SaKind::ike;
constexpr auto kChild = SaKind::child;
constexpr auto kExact = Mapping::exact;
constexpr auto kApprox = Mapping::approximate;
constexpr std::nullopt_t kAny = std::nullopt;

// Fixture names refer to tests/fixtures/logs/<case>/.
constexpr std::array kRules = std::to_array<Rule>({
    {"ikesa-limit", O::ike_sa_limit_hit, kR, kIke, "ERROR_IPSEC_IKE_MM_LIMIT", kExact, false,
     "charon.ikesa_limit reached: the responder drops the IKE_SA_INIT silently (MGR1 'ignoring "
     "IKE_SA_INIT, hitting IKE_SA limit (N)'). Verified (ikesa-limit): limit 3, 6 peers -> 3 up, "
     "9 lines = 3 refused peers x (1 + 2 retransmits); the initiators only retransmit and give "
     "up (DROP_NO_RESPONSE on their side). charon's limit counts all IKE_SAs (half-open "
     "included), Windows' is per peer; the condition, too many MM SAs, is the same.",
     "Level 1: no address, no SA prefix, one line per received request including retransmits: "
     "attempts are requests, peers cannot be told apart. Level 2 (mgr >= 2): the preceding "
     "'checkout IKEv2 SA by message with SPIs <spi>_i' line of the same thread keys each "
     "attempt by the initiator SPI (ikesa-limit-level2: 9 lines -> 3 attempts)."},
    {"half-open-limit", O::half_open_limit, kR, kIke, "ERROR_IPSEC_IKE_QUEUE_DROP_MM", kApprox,
     false,
     "init_limit_half_open: the receiver drops IKE_SA_INITs while the responder's half-open "
     "count (queued requests included) is at the limit. Verified (half-open-limit): limit 2, "
     "responses withheld, 5 peers -> 13 drops naming all 5 addresses, because retransmits of "
     "the 2 accepted (half-open) SAs are refused too. Windows' code is a drop from the "
     "negotiation queue; the cause (admission queue full) is comparable, not the same.",
     "Names the peer address; one line per request (retransmits included). An address can "
     "appear although its first request was accepted (its retransmits were dropped)."},
    {"job-load-limit", O::job_load_limit, kR, kIke, "ERROR_IPSEC_IKE_QUEUE_DROP_MM", kApprox,
     false,
     "init_limit_job_load: IKE_SA_INIT dropped because charon's job queues are too long: a "
     "queue drop in Windows' terms. Not recorded here (needs a saturated SUT); string from "
     "receiver.c:453.",
     "Names the peer address; one line per request."},
    {"per-ip-half-open-limit", O::per_ip_half_open_limit, kR, kIke,
     "ERROR_IPSEC_IKE_RATELIMIT_DROP", kApprox, false,
     "block_threshold: too many half-open IKE_SAs from one address, request dropped. Windows "
     "rate-limits per peer IP; charon counts half-open SAs per IP: same intent, different "
     "measure. Not recorded here.",
     "Names the peer address; one line per request."},
    {"cookie-sent", O::cookie_sent, kR, kIke, "ERROR_IPSEC_IKE_DOS_COOKIE_SENT", kExact, true,
     "The responder demanded a COOKIE (half-open >= cookie_threshold). Verified (cookie): "
     "cookie_threshold 2, 12 peers at once -> 10 COOKIE responses, all 12 peers up. "
     "Correction: at level 1 the evidence is ENC 'generating IKE_SA_INIT response 0 [ "
     "N(COOKIE) ]' (the reference's 'sending COOKIE notify to %H' is level 2 only). "
     "Informational: the initiator retries with the cookie.",
     "Level 1: the address is on the next 'sending packet' line of the receiver thread; one "
     "line per COOKIE sent."},
    {"no-response", O::no_response, kAny, kAny, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", kExact,
     false,
     "Retransmits exhausted ('giving up after N retransmits'). Verified (ikesa-limit "
     "initiator): the 3 refused peers logged retransmit 1, 2 then gave up.",
     "Initiator log: the SA prefix names the connection (peer) and unique id; the local "
     "address is the peer's."},
    {"ike-deadline", O::ike_deadline_missed, kI, kIke, "ERROR_IPSEC_IKE_MM_DELAY_DROP", kApprox,
     false,
     "IKE_SA established later than peers.deadlines.ike. Windows drops such a negotiation; "
     "charon completes it, so the harness records lateness, not a drop.",
     "Not in logs: needs the harness's per-peer timing."},
    {"child-deadline", O::child_deadline_missed, kI, kChild, "ERROR_IPSEC_IKE_QM_DELAY_DROP",
     kApprox, false,
     "CHILD_SA established later than peers.deadlines.child (lateness, not a drop; see "
     "ike-deadline).",
     "Not in logs: needs the harness's per-peer timing."},
    {"child-no-ike", O::child_dropped_no_ike, kAny, kChild, "ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM",
     kApprox, false,
     "A CHILD_SA request (acquire or initiate) dropped while no IKE_SA was up: Windows' "
     "'quick mode request dropped without main mode'.",
     "Not in level-1 logs; from the harness's peer events."},
    {"rekey-collision", O::rekey_collision, kAny, kAny, "ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY",
     kExact, false,
     "'detected IKE_REKEY|CHILD_REKEY collision with ...'. Verified (rekey-collision): both "
     "sides rekeying on the same schedule logged IKE and CHILD collisions on both sides; charon "
     "resolves each (one SA wins), so no tunnel is lost.",
     "The SA prefix names the connection and unique id; lines of one SA and kind within 1 s "
     "(the REKEY and DELETE tasks both report one collision) make one record."},
    {"ike-no-proposal", O::no_proposal_chosen, kAny, kIke, "ERROR_IPSEC_IKE_ATTRIB_FAIL", kExact,
     false,
     "IKE proposal mismatch (NO_PROPOSAL_CHOSEN in IKE_SA_INIT). Verified (proposal-mismatch): "
     "responder 'received proposals unacceptable', initiator 'received NO_PROPOSAL_CHOSEN "
     "notify error'.",
     "Responder: prefix <uid> only, the address from the same SA's 'is initiating' line."},
    {"child-no-proposal", O::no_proposal_chosen, kAny, kChild, "ERROR_IPSEC_IKE_ATTRIB_FAIL",
     kExact, false,
     "CHILD (ESP) proposal mismatch. Verified (proposal-mismatch peer 3): responder 'no "
     "acceptable proposal found', initiator 'received NO_PROPOSAL_CHOSEN notify, no CHILD_SA "
     "built'; the IKE_SA stays up ('failed to establish CHILD_SA, keeping IKE_SA').",
     "The SA prefix and its earlier lines give the peer's address and identity."},
    {"ts-unacceptable", O::ts_unacceptable, kAny, kAny, "ERROR_IPSEC_IKE_NO_POLICY", kApprox,
     false,
     "Traffic selector mismatch. Verified (ts-mismatch): responder 'traffic selectors ... "
     "unacceptable', initiator 'received TS_UNACCEPTABLE notify, no CHILD_SA built'; the IKE_SA "
     "stays up. Windows has no TS code; 'no policy configured' (no matching quick-mode filter) "
     "is the nearest.",
     "The SA prefix and its earlier lines give the peer's address and identity."},
    {"auth-failed", O::authentication_failed, kAny, kAny, "ERROR_IPSEC_IKE_AUTH_FAIL", kExact,
     false,
     "Authentication failed. Verified (wrong-psk): responder 'tried 1 shared key for 'sut' - "
     "'peerN', but MAC mismatched' (no line of its own for the AUTHENTICATION_FAILED it "
     "sends), initiator 'received AUTHENTICATION_FAILED notify error'.",
     "The SA prefix and its earlier lines give the peer's address and identity."},
    {"no-ike-config", O::no_ike_config, kR, kIke, "ERROR_IPSEC_IKE_NO_MM_POLICY", kApprox, false,
     "'no IKE config found for %H...%H': no IKE config for the addresses; charon answers "
     "NO_PROPOSAL_CHOSEN (the initiator sees ATTRIB_FAIL). Not recorded here.",
     "Names both addresses."},
    {"no-peer-config", O::no_peer_config, kR, kIke, "ERROR_IPSEC_IKE_AUTH_FAIL", kApprox, false,
     "'no matching peer config found': charon answers AUTHENTICATION_FAILED, so the peer sees an "
     "authentication failure although the cause is configuration. Not recorded here.",
     "The preceding 'looking for peer configs matching' line names addresses and identities."},
    {"spi-alloc", O::spi_alloc_failed, kAny, kChild, "ERROR_IPSEC_IKE_GETSPIFAIL", kExact, false,
     "SPI allocation refused ('unable to allocate SPIs from kernel' / 'allocating SPI failed'); "
     "the responder then sends NO_PROPOSAL_CHOSEN. Not recorded here (needs a tiny SPI range).",
     "The SA prefix names the SA."},
    {"sa-install", O::sa_install_failed, kAny, kChild, "ERROR_IPSEC_IKE_ADD_UPDATE_KEY_FAILED",
     kExact, false,
     "'unable to install ... IPsec SA (SAD) in kernel'; the responder then sends "
     "NO_PROPOSAL_CHOSEN. Not recorded here.",
     "The SA prefix names the SA."},
    {"policy-install", O::policy_install_failed, kAny, kChild, "ERROR_IPSEC_IKE_NO_POLICY",
     kApprox, false,
     "'unable to install IPsec policies (SPD) in kernel': charon answers TS_UNACCEPTABLE, so the "
     "peer sees what a selector mismatch gives. Not recorded here.",
     "The SA prefix names the SA."},
    {"notify-error", O::notify_error, kAny, kAny, "ERROR_IPSEC_IKE_GENERAL_PROCESSING_ERROR",
     kApprox, false,
     "Another error notify received (INVALID_SYNTAX, INTERNAL_ADDRESS_FAILURE, ...): no closer "
     "Windows code than a general processing error.",
     "The SA prefix names the SA; the notify name is in the evidence."},
    {"critical-payload", O::unsupported_critical_payload, kAny, kIke,
     "ERROR_IPSEC_IKE_CRITICAL_PAYLOAD_NOT_RECOGNIZED", kExact, false,
     "A payload of an unknown type with the critical bit set (RFC 7296 2.5). Verified "
     "(scenarios/impair/malformed.yaml, native peers' malform unknown_critical): the SUT logs "
     "'payload type (200) is not supported, but payload is critical!' and 'critical unknown "
     "payloads found' and answers UNSUPPORTED_CRITICAL_PAYLOAD, which the peer receives.",
     "Responder: the SA prefix <uid> only (no address: the message was refused before an IKE_SA "
     "was set up); initiator: the peer's own notify."},
    {"major-version", O::invalid_major_version, kAny, kIke, "ERROR_IPSEC_IKE_INVALID_MAJOR_VERSION",
     kExact, false,
     "An IKE header with a major version other than 1 or 2. Verified (malform bad_version): the "
     "SUT logs 'received unsupported IKE version 3.0 from <addr>, sending INVALID_MAJOR_VERSION' "
     "and the peer receives INVALID_MAJOR_VERSION.",
     "Responder: NET line naming the peer's address; initiator: the notify."},
    {"invalid-syntax", O::invalid_syntax, kAny, kIke, "ERROR_IPSEC_IKE_INVALID_PAYLOAD", kApprox,
     false,
     "INVALID_SYNTAX received: the responder could not parse or verify a payload. Verified "
     "(malform short_nonce and bad_length): the SUT answers INVALID_SYNTAX. Windows' 'invalid "
     "payload received' is the nearest; which payload is only in the SUT's log (the "
     "*-payload rules).",
     "The peer's own notify."},
    {"sa-payload", O::sa_payload_invalid, kR, kIke, "ERROR_IPSEC_IKE_PROCESS_ERR_SA", kExact, false,
     "'payload type SECURITY_ASSOCIATION could not be parsed' (then 'message parsing failed'). "
     "Verified (malform bad_length, whose first payload is the SA).",
     "The SA prefix <uid> only; the address is known when a 'is initiating' line of the same "
     "uid came first (not for parse failures)."},
    {"ke-payload", O::ke_payload_invalid, kR, kIke, "ERROR_IPSEC_IKE_PROCESS_ERR_KE", kExact, false,
     "'invalid DH public value size (N bytes) for <group>' then 'applying DH public value "
     "failed'. Verified (malform bad_ke): charon answers NO_PROPOSAL_CHOSEN, so the peer itself "
     "sees ATTRIB_FAIL; the SUT's log names the KE payload.",
     "The SA prefix <uid>; the address from the same uid's 'is initiating' line."},
    {"nonce-payload", O::nonce_payload_invalid, kR, kIke, "ERROR_IPSEC_IKE_PROCESS_ERR_NONCE", kExact,
     false,
     "'NONCE payload has invalid length (N bytes)' / 'NONCE payload verification failed'. "
     "Verified (malform short_nonce): charon answers INVALID_SYNTAX.",
     "The SA prefix <uid> only."},
    {"payload-other", O::payload_invalid, kR, kIke, "ERROR_IPSEC_IKE_INVALID_PAYLOAD", kApprox, false,
     "'<payload> payload verification failed' or '... could not be parsed' for a payload without "
     "a code of its own here.",
     "The SA prefix <uid> only."},
    {"ike-expired", O::ike_hard_expired, kAny, kIke, "ERROR_IPSEC_IKE_MM_EXPIRED", kExact, false,
     "IKE_SA hard lifetime reached without replacement. charon logs no expiry-specific line "
     "(only 'deleting IKE_SA'), so this comes from the harness's lifetime accounting.",
     "Not attributable from a log alone."},
    {"child-expired", O::child_hard_expired, kAny, kChild, "ERROR_IPSEC_IKE_QM_EXPIRED", kExact,
     false,
     "'closing expired CHILD_SA': the hard lifetime was reached before a rekey replaced it.",
     "The SA prefix names the SA."},
    {"ike-delete-received", O::delete_received, kAny, kIke, "ERROR_IPSEC_IKE_MM_EXPIRED",
     kApprox, true,
     "Windows' text for 13885 includes 'peer sent a main mode delete'; a delete is an orderly "
     "teardown, so it is informational here, never a failure. Verified (normal): 'received "
     "DELETE for IKE_SA'. charon also logs it when the initiator rejected its AUTH.",
     "The SA prefix names the SA."},
    {"xfrm-bad-spi", O::xfrm_in_no_states, kAny, kChild, "ERROR_IPSEC_BAD_SPI", kExact, false,
     "XfrmInNoStates: inbound packet without a matching SA (unknown SPI).", "Kernel counter."},
    {"xfrm-expired", O::xfrm_in_state_expired, kAny, kChild, "ERROR_IPSEC_SA_LIFETIME_EXPIRED",
     kExact, false, "XfrmInStateExpired: packet on an expired SA.", "Kernel counter."},
    {"xfrm-replay", O::xfrm_in_seq_error, kAny, kChild, "ERROR_IPSEC_REPLAY_CHECK_FAILED", kExact,
     false, "XfrmInStateSeqError: sequence number outside the replay window.", "Kernel counter."},
    {"xfrm-integrity", O::xfrm_in_proto_error, kAny, kChild, "ERROR_IPSEC_INTEGRITY_CHECK_FAILED",
     kApprox, false,
     "XfrmInStateProtoError: protocol-specific error, ICV failures among others.",
     "Kernel counter."},
    {"xfrm-queue-overflow", O::xfrm_out_no_states, kAny, kChild, "STATUS_IPSEC_QUEUE_OVERFLOW",
     kApprox, false,
     "XfrmOutNoStates: outbound packets that matched an IPsec policy whose template found no SA "
     "(none yet, or gone after an expiry or a reauthentication: the SA is being negotiated), "
     "dropped by the kernel (no win32 code exists; NTSTATUS). Why this counter: with "
     "net.core.xfrm_larval_drop = 1 (the default, per namespace) xfrm_lookup raises the ACQUIRE "
     "and drops such a packet, counting it here and nowhere else. With xfrm_larval_drop = 0 the "
     "packet waits instead in the policy's hold queue (at most 100 packets, XFRM_MAX_QUEUE_LEN, "
     "retried up to 60 s): an overflow of that queue is freed without any xfrm_stat counter "
     "(the sender gets EAGAIN, counted as peers.trap_traffic send_errors, and Ip OutDiscards), "
     "and an expired queue is purged uncounted. XfrmOutPolBlock counts block policies, "
     "XfrmAcquireError inbound ESP for an SA still being acquired, neither is this. Approximate: "
     "Windows queues such packets and reports the overflow of its queue; the default Linux queue "
     "holds none, so every packet that waits for an SA is dropped.",
     "Kernel counter of a namespace, names no peer; needs real XFRM (xfrm or vm backend). With "
     "peers.trap_traffic the harness counts each peer's datagrams at both ends: when all that "
     "were lost equal the peers' XfrmOutNoStates, each peer's record carries its own drops and "
     "its ACQUIREs."},
});

}  // namespace

std::span<const Rule> rules() { return kRules; }

const Rule* find_rule(std::span<const Rule> table, const ObservedEvent& e) {
  for (const Rule& r : table) {
    if (r.what != e.what) continue;
    if (r.side && *r.side != e.side) continue;
    if (r.sa && *r.sa != e.sa) continue;
    return &r;
  }
  return nullptr;
}

Status validate_rules(std::span<const Rule> table, const CodeTable& codes) {
  std::set<std::string_view> ids;
  for (const Rule& r : table) {
    if (!ids.insert(r.id).second) return Error("duplicate rule id " + std::string(r.id));
    if (!codes.by_name(r.code))
      return Error("rule " + std::string(r.id) + " names unknown code " + std::string(r.code));
    if (r.reason.empty()) return Error("rule " + std::string(r.id) + " has no reason");
  }
  return ok();
}

}  // namespace ist::taxonomy
