#include "taxonomy/coverage.hpp"

#include <array>
#include <map>

namespace ist::taxonomy {
namespace {

// Paths of the shipped scenarios (tests/unit/taxonomy_coverage_test.cpp checks they exist).
constexpr std::string_view kMmLimit = "scenarios/taxonomy/mm-limit.yaml scenarios/limits.yaml";
// The native engine's malform impairment and malformed flood (peers.impair / peers.flood).
constexpr std::string_view kMalformed = "scenarios/impair/malformed.yaml";
constexpr std::string_view kNoResponse =
    "scenarios/taxonomy/drop-no-response.yaml scenarios/taxonomy/mm-limit.yaml "
    "scenarios/taxonomy/queue-drop-no-mm.yaml";

// The data plane's faults against the vm backend's real XFRM (traffic.faults, backend vm).
constexpr std::string_view kVmDataPlane = "scenarios/vm/vm-dataplane.yaml";

// Reasons shared by groups of codes.
constexpr std::string_view kPolicyStore =
    "Windows policy-store API result (adding/finding/deleting IPsec policies, filters, auth "
    "methods in the local store); not a negotiation outcome. strongSwan loads its config over "
    "vici, where a refused config is a harness fault, not a code.";
constexpr std::string_view kRange = "Range marker in Windows' table, not an error any system reports.";
constexpr std::string_view kWindowsInternal =
    "Windows-internal service state (RPC, SSPI, security packages, NAP, key modules, "
    "firewall coexistence): strongSwan has no counterpart.";
constexpr std::string_view kIkev1 =
    "IKEv1 (ISAKMP main/quick mode) payload with no IKEv2 counterpart, or one charon never "
    "reports on its own line; the harness runs IKEv2 only. The IKEv2 payloads charon names when "
    "it refuses them (SA, KE, Nonce) have rules (sa-payload, ke-payload, nonce-payload).";
constexpr std::string_view kCertNotYet =
    "Certificate-validation failure: strongSwan logs its own reasons (e.g. 'no trusted RSA "
    "public key found', CRL fetch errors) which end as AUTHENTICATION_FAILED; no rule tells "
    "them apart from AUTH_FAIL yet and no scenario makes a peer with a broken certificate.";
constexpr std::string_view kDosp =
    "Windows DoS Protection (DoSP) component of the Windows Filtering Platform: no XFRM or "
    "strongSwan counterpart.";
constexpr std::string_view kKernelNeedsXfrm =
    "An xfrm-* rule reads /proc/net/xfrm_stat, but this machine kind has no ESP in the kernel: the SUT runs "
    "kernel-libipsec (userspace ESP, no kernel counters). Needs the xfrm backend on a kernel with "
    "ESP, or the vm backend.";
constexpr std::string_view kNotRecorded =
    "A rule maps charon's log line to it, but no shipped scenario makes charon log that line.";

constexpr auto kCoverage = std::to_array<CodeCoverage>({
    // Rule xfrm-queue-overflow (XfrmOutNoStates: packets dropped while SAs negotiate). The trap
    // peers' trigger datagrams are dropped by the peers namespace's kernel while their IKE_SAs
    // negotiate; approximate, and a kernel counter names no peer. queue-overflow.yaml (backend
    // xfrm, run --in-vm here): steady trap traffic, each peer's drops named when all losses
    // are the kernel's.
    {"STATUS_IPSEC_QUEUE_OVERFLOW",
     "scenarios/taxonomy/queue-drop-no-mm.yaml scenarios/taxonomy/queue-overflow.yaml", ""},
    {"STATUS_IPSEC_BAD_SPI", "", "NTSTATUS twin of ERROR_IPSEC_BAD_SPI; the win32 code is used."},
    {"STATUS_IPSEC_SA_LIFETIME_EXPIRED", "", "NTSTATUS twin of ERROR_IPSEC_SA_LIFETIME_EXPIRED; the win32 code is used."},
    {"STATUS_IPSEC_WRONG_SA", "", "NTSTATUS twin of ERROR_IPSEC_WRONG_SA; the win32 code is used."},
    {"STATUS_IPSEC_REPLAY_CHECK_FAILED", "", "NTSTATUS twin of ERROR_IPSEC_REPLAY_CHECK_FAILED; the win32 code is used."},
    {"STATUS_IPSEC_INVALID_PACKET", "", "NTSTATUS twin of ERROR_IPSEC_INVALID_PACKET; the win32 code is used."},
    {"STATUS_IPSEC_INTEGRITY_CHECK_FAILED", "", "NTSTATUS twin of ERROR_IPSEC_INTEGRITY_CHECK_FAILED; the win32 code is used."},
    {"STATUS_IPSEC_CLEAR_TEXT_DROP", "", "NTSTATUS twin of ERROR_IPSEC_CLEAR_TEXT_DROP; the win32 code is used."},
    {"STATUS_IPSEC_AUTH_FIREWALL_DROP", "", "NTSTATUS twin of ERROR_IPSEC_AUTH_FIREWALL_DROP; the win32 code is used."},
    {"STATUS_IPSEC_THROTTLE_DROP", "", "NTSTATUS twin of ERROR_IPSEC_THROTTLE_DROP; the win32 code is used."},
    {"STATUS_IPSEC_DOSP_BLOCK", "", kDosp},
    {"STATUS_IPSEC_DOSP_RECEIVED_MULTICAST", "", kDosp},
    {"STATUS_IPSEC_DOSP_INVALID_PACKET", "", kDosp},
    {"STATUS_IPSEC_DOSP_STATE_LOOKUP_FAILED", "", kDosp},
    {"STATUS_IPSEC_DOSP_MAX_ENTRIES", "", kDosp},
    {"STATUS_IPSEC_DOSP_KEYMOD_NOT_ALLOWED", "", kDosp},
    {"STATUS_IPSEC_DOSP_MAX_PER_IP_RATELIMIT_QUEUES", "", kDosp},
    {"WSA_IPSEC_NAME_POLICY_ERROR", "", "Winsock name-resolution policy error; no IPsec negotiation counterpart."},
    {"ERROR_IPSEC_QM_POLICY_EXISTS", "", kPolicyStore},
    {"ERROR_IPSEC_QM_POLICY_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_QM_POLICY_IN_USE", "", kPolicyStore},
    {"ERROR_IPSEC_MM_POLICY_EXISTS", "", kPolicyStore},
    {"ERROR_IPSEC_MM_POLICY_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_MM_POLICY_IN_USE", "", kPolicyStore},
    {"ERROR_IPSEC_MM_FILTER_EXISTS", "", kPolicyStore},
    {"ERROR_IPSEC_MM_FILTER_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_TRANSPORT_FILTER_EXISTS", "", kPolicyStore},
    {"ERROR_IPSEC_TRANSPORT_FILTER_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_MM_AUTH_EXISTS", "", kPolicyStore},
    {"ERROR_IPSEC_MM_AUTH_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_MM_AUTH_IN_USE", "", kPolicyStore},
    {"ERROR_IPSEC_DEFAULT_MM_POLICY_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_DEFAULT_MM_AUTH_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_DEFAULT_QM_POLICY_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_TUNNEL_FILTER_EXISTS", "", kPolicyStore},
    {"ERROR_IPSEC_TUNNEL_FILTER_NOT_FOUND", "", kPolicyStore},
    {"ERROR_IPSEC_MM_FILTER_PENDING_DELETION", "", kPolicyStore},
    {"ERROR_IPSEC_TRANSPORT_FILTER_PENDING_DELETION", "", kPolicyStore},
    {"ERROR_IPSEC_TUNNEL_FILTER_PENDING_DELETION", "", kPolicyStore},
    {"ERROR_IPSEC_MM_POLICY_PENDING_DELETION", "", kPolicyStore},
    {"ERROR_IPSEC_MM_AUTH_PENDING_DELETION", "", kPolicyStore},
    {"ERROR_IPSEC_QM_POLICY_PENDING_DELETION", "", kPolicyStore},
    {"WARNING_IPSEC_MM_POLICY_PRUNED", "", kPolicyStore},
    {"WARNING_IPSEC_QM_POLICY_PRUNED", "", kPolicyStore},
    {"ERROR_IPSEC_IKE_NEG_STATUS_BEGIN", "", kRange},
    {"ERROR_IPSEC_IKE_AUTH_FAIL", "scenarios/taxonomy/auth-fail.yaml", ""},
    {"ERROR_IPSEC_IKE_ATTRIB_FAIL", "scenarios/taxonomy/attrib-fail.yaml", ""},
    {"ERROR_IPSEC_IKE_NEGOTIATION_PENDING", "", "Windows API status (a negotiation is still running), not a failure."},
    {"ERROR_IPSEC_IKE_GENERAL_PROCESSING_ERROR", "", kNotRecorded},
    {"ERROR_IPSEC_IKE_TIMED_OUT", "",
     "charon's only timeout is retransmission exhaustion, classified as the more specific "
     "DROP_NO_RESPONSE."},
    {"ERROR_IPSEC_IKE_NO_CERT", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_SA_DELETED", "", "An orderly delete is informational (rule ike-delete-received -> MM_EXPIRED informational)."},
    {"ERROR_IPSEC_IKE_SA_REAPED", "", "Windows' idle-SA reaping; charon has no idle reaper (only DPD and lifetimes)."},
    {"ERROR_IPSEC_IKE_MM_ACQUIRE_DROP", "",
     "Kernel ACQUIRE dropped before main mode: no rule reads charon's handling of an ACQUIRE it does not "
     "act on (the initiators log at level 0). Rule child-no-ike reports an ACQUIRE with no IKE_SA up "
     "within deadlines.ike as QUEUE_DROP_NO_MM (queue-drop-no-mm.yaml)."},
    {"ERROR_IPSEC_IKE_QM_ACQUIRE_DROP", "", "As MM_ACQUIRE_DROP, for quick mode: needs trap policies and real XFRM."},
    {"ERROR_IPSEC_IKE_QUEUE_DROP_MM", "scenarios/taxonomy/queue-drop-mm.yaml", ""},
    {"ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM", "scenarios/taxonomy/queue-drop-no-mm.yaml", ""},
    {"ERROR_IPSEC_IKE_DROP_NO_RESPONSE", kNoResponse, ""},
    {"ERROR_IPSEC_IKE_MM_DELAY_DROP", "scenarios/taxonomy/mm-delay-drop.yaml", ""},
    {"ERROR_IPSEC_IKE_QM_DELAY_DROP", "scenarios/taxonomy/qm-delay-drop.yaml", ""},
    {"ERROR_IPSEC_IKE_ERROR", "", "Windows' catch-all; GENERAL_PROCESSING_ERROR is used for unspecific notify errors."},
    {"ERROR_IPSEC_IKE_CRL_FAILED", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_INVALID_KEY_USAGE", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_INVALID_CERT_TYPE", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_NO_PRIVATE_KEY", "", "A missing private key fails charon's config load (harness fault), not a negotiation."},
    {"ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", "scenarios/taxonomy/simultaneous-rekey.yaml scenarios/rekey-collision.yaml", ""},
    {"ERROR_IPSEC_IKE_DH_FAIL", "", "IKEv2 answers a DH group mismatch with INVALID_KE_PAYLOAD and retries; charon recovers, no failure."},
    {"ERROR_IPSEC_IKE_CRITICAL_PAYLOAD_NOT_RECOGNIZED", kMalformed, ""},
    {"ERROR_IPSEC_IKE_INVALID_HEADER", "", "Malformed IKE headers are dropped silently by charon's parser; needs a fuzzing peer."},
    {"ERROR_IPSEC_IKE_NO_POLICY", "", kNotRecorded},
    {"ERROR_IPSEC_IKE_INVALID_SIGNATURE", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_KERBEROS_ERROR", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_NO_PUBLIC_KEY", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_PROCESS_ERR", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_SA", kMalformed, ""},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_PROP", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_TRANS", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_KE", kMalformed, ""},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_ID", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_CERT", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_CERT_REQ", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_HASH", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_SIG", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_NONCE", kMalformed, ""},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_NOTIFY", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_DELETE", "", kIkev1},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_VENDOR", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_PAYLOAD", kMalformed, ""},
    {"ERROR_IPSEC_IKE_LOAD_SOFT_SA", "", "Windows soft SAs (fallback to clear text) do not exist in strongSwan."},
    {"ERROR_IPSEC_IKE_SOFT_SA_TORN_DOWN", "", "Windows soft SAs (fallback to clear text) do not exist in strongSwan."},
    {"ERROR_IPSEC_IKE_INVALID_COOKIE", "", "IKEv1 cookie (SPI) error; IKEv2 COOKIE mismatches make charon resend a COOKIE (informational)."},
    {"ERROR_IPSEC_IKE_NO_PEER_CERT", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_PEER_CRL_FAILED", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_POLICY_CHANGE", "", "Windows tears SAs down on a policy change; a vici config reload leaves charon's SAs up."},
    {"ERROR_IPSEC_IKE_NO_MM_POLICY", "", kNotRecorded},
    {"ERROR_IPSEC_IKE_NOTCBPRIV", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_SECLOADFAIL", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_FAILSSPINIT", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_FAILQUERYSSP", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_SRVACQFAIL", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_SRVQUERYCRED", "", kWindowsInternal},
    // Backend vm: the guest kernel refuses XFRM_MSG_ALLOCSPI once spi_min..spi_max is used
    // up. On kernel-libipsec (scenarios/taxonomy/getspifail.yaml) SPIs come from userspace.
    {"ERROR_IPSEC_IKE_GETSPIFAIL",
     "scenarios/taxonomy/getspifail-vm.yaml scenarios/taxonomy/getspifail-pool-sweep.yaml", ""},
    {"ERROR_IPSEC_IKE_INVALID_FILTER", "", kPolicyStore},
    {"ERROR_IPSEC_IKE_OUT_OF_MEMORY", "", "charon aborts on allocation failure rather than reporting it to the peer."},
    {"ERROR_IPSEC_IKE_ADD_UPDATE_KEY_FAILED", "", kNotRecorded},
    {"ERROR_IPSEC_IKE_INVALID_POLICY", "", kPolicyStore},
    {"ERROR_IPSEC_IKE_UNKNOWN_DOI", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_SITUATION", "", kIkev1},
    {"ERROR_IPSEC_IKE_DH_FAILURE", "", "A DH computation failure aborts charon's task with 'key derivation failed'; not producible on demand."},
    {"ERROR_IPSEC_IKE_INVALID_GROUP", "", "IKEv2 renegotiates the group after INVALID_KE_PAYLOAD; a disjoint group set ends as NO_PROPOSAL_CHOSEN (ATTRIB_FAIL)."},
    {"ERROR_IPSEC_IKE_ENCRYPT", "", "Encryption failure inside charon: not producible on demand."},
    {"ERROR_IPSEC_IKE_DECRYPT", "", "charon drops messages it cannot decrypt or verify without a notify; needs a corrupting peer."},
    {"ERROR_IPSEC_IKE_POLICY_MATCH", "", kIkev1},
    {"ERROR_IPSEC_IKE_UNSUPPORTED_ID", "", "charon accepts every IKEv2 ID type; a mismatched ID ends as AUTHENTICATION_FAILED."},
    {"ERROR_IPSEC_IKE_INVALID_HASH", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_HASH_ALG", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_HASH_SIZE", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_ENCRYPT_ALG", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_AUTH_ALG", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_SIG", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_LOAD_FAILED", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_RPC_DELETE", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_BENIGN_REINIT", "", "Windows-internal re-initiation notice; charon's reauthentication is not a failure."},
    {"ERROR_IPSEC_IKE_INVALID_RESPONDER_LIFETIME_NOTIFY", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_MAJOR_VERSION", kMalformed, ""},
    {"ERROR_IPSEC_IKE_INVALID_CERT_KEYLEN", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_MM_LIMIT", kMmLimit, ""},
    {"ERROR_IPSEC_IKE_NEGOTIATION_DISABLED", "", "Windows' IKE negotiation switch; charon has no such state."},
    {"ERROR_IPSEC_IKE_QM_LIMIT", "", "strongSwan has no per-IKE_SA CHILD_SA cap."},
    {"ERROR_IPSEC_IKE_MM_EXPIRED", "",
     "Rule ike-expired (harness lifetime accounting) and ike-delete-received (informational). "
     "No shipped scenario lets an IKE_SA hard-expire: charon rekeys before life_time."},
    {"ERROR_IPSEC_IKE_PEER_MM_ASSUMED_INVALID", "", "DPD declaring the peer dead; charon's DPD timeout is not classified yet."},
    {"ERROR_IPSEC_IKE_CERT_CHAIN_POLICY_MISMATCH", "", kCertNotYet},
    {"ERROR_IPSEC_IKE_UNEXPECTED_MESSAGE_ID", "", "charon silently drops messages with unexpected IDs (retransmits answered from cache)."},
    {"ERROR_IPSEC_IKE_INVALID_AUTH_PAYLOAD", "", "Ends as AUTHENTICATION_FAILED in charon (AUTH_FAIL)."},
    {"ERROR_IPSEC_IKE_DOS_COOKIE_SENT", "scenarios/taxonomy/dos-cookie-sent.yaml", ""},
    {"ERROR_IPSEC_IKE_SHUTTING_DOWN", "", "charon tears SAs down on shutdown with DELETEs; the harness stops the SUT only at teardown."},
    {"ERROR_IPSEC_IKE_CGA_AUTH_FAILED", "", "Cryptographically generated addresses (IPv6 CGA auth) are not supported by strongSwan."},
    {"ERROR_IPSEC_IKE_PROCESS_ERR_NATOA", "", kIkev1},
    {"ERROR_IPSEC_IKE_INVALID_MM_FOR_QM", "", kIkev1},
    {"ERROR_IPSEC_IKE_QM_EXPIRED", "",
     "Rule child-expired ('closing expired CHILD_SA'). No shipped scenario expires a CHILD_SA "
     "before its rekey (rekey-collision checks QM_EXPIRED == 0)."},
    {"ERROR_IPSEC_IKE_TOO_MANY_FILTERS", "", kPolicyStore},
    {"ERROR_IPSEC_IKE_NEG_STATUS_END", "", kRange},
    {"ERROR_IPSEC_IKE_KILL_DUMMY_NAP_TUNNEL", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_INNER_IP_ASSIGNMENT_FAILURE", "",
     "Virtual IP pool exhaustion ('no virtual IP found') would map here; scenarios do not "
     "configure pools yet (sut.config pools are kept, but no rule reads the line)."},
    {"ERROR_IPSEC_IKE_REQUIRE_CP_PAYLOAD_MISSING", "", "Harness peers request no virtual IP; charon does not require a CP payload."},
    {"ERROR_IPSEC_KEY_MODULE_IMPERSONATION_NEGOTIATION_PENDING", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_COEXISTENCE_SUPPRESS", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_RATELIMIT_DROP", "",
     "Rule per-ip-half-open-limit (block_threshold). Not reproduced: every harness peer has its "
     "own address and one half-open IKE_SA, so the per-IP threshold never bites."},
    {"ERROR_IPSEC_IKE_PEER_DOESNT_SUPPORT_MOBIKE", "", "charon falls back silently when the peer lacks MOBIKE."},
    {"ERROR_IPSEC_IKE_AUTHORIZATION_FAILURE", "", "Windows authorization (after authentication); charon's group/ca constraints end as AUTHENTICATION_FAILED."},
    {"ERROR_IPSEC_IKE_STRONG_CRED_AUTHORIZATION_FAILURE", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_AUTHORIZATION_FAILURE_WITH_OPTIONAL_RETRY", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_STRONG_CRED_AUTHORIZATION_AND_CERTMAP_FAILURE", "", kWindowsInternal},
    {"ERROR_IPSEC_IKE_NEG_STATUS_EXTENDED_END", "", kRange},
    // The native engine's bad_spi probes into the vm guest's kernel (XfrmInNoStates).
    {"ERROR_IPSEC_BAD_SPI", kVmDataPlane, ""},
    {"ERROR_IPSEC_SA_LIFETIME_EXPIRED", "", kKernelNeedsXfrm},
    {"ERROR_IPSEC_WRONG_SA", "", "No XFRM counter tells a packet on the wrong SA apart (selector check failures count as XfrmInTmplMismatch, unclassified)."},
    // The native engine's replayed probes into the vm guest's kernel (XfrmInStateSeqError).
    {"ERROR_IPSEC_REPLAY_CHECK_FAILED", kVmDataPlane, ""},
    {"ERROR_IPSEC_INVALID_PACKET", "", "XfrmInHdrError would map here; no rule yet and needs real XFRM."},
    {"ERROR_IPSEC_INTEGRITY_CHECK_FAILED", "", kKernelNeedsXfrm},
    {"ERROR_IPSEC_CLEAR_TEXT_DROP", "", "XfrmInNoPols (clear text where policy demands ESP) would map here; no rule yet and needs real XFRM."},
    {"ERROR_IPSEC_AUTH_FIREWALL_DROP", "", kDosp},
    {"ERROR_IPSEC_THROTTLE_DROP", "", "Windows' IPsec throttling of unauthenticated traffic: no XFRM counterpart."},
    {"ERROR_IPSEC_DOSP_BLOCK", "", kDosp},
    {"ERROR_IPSEC_DOSP_RECEIVED_MULTICAST", "", kDosp},
    {"ERROR_IPSEC_DOSP_INVALID_PACKET", "", kDosp},
    {"ERROR_IPSEC_DOSP_STATE_LOOKUP_FAILED", "", kDosp},
    {"ERROR_IPSEC_DOSP_MAX_ENTRIES", "", kDosp},
    {"ERROR_IPSEC_DOSP_KEYMOD_NOT_ALLOWED", "", kDosp},
    {"ERROR_IPSEC_DOSP_NOT_INSTALLED", "", kDosp},
    {"ERROR_IPSEC_DOSP_MAX_PER_IP_RATELIMIT_QUEUES", "", kDosp},
});

}  // namespace

std::span<const CodeCoverage> coverage() { return kCoverage; }

std::vector<std::string_view> coverage_scenarios(const CodeCoverage& c) {
  std::vector<std::string_view> out;
  std::string_view s = c.scenarios;
  while (!s.empty()) {
    auto sp = s.find(' ');
    std::string_view part = s.substr(0, sp);
    if (!part.empty()) out.push_back(part);
    if (sp == std::string_view::npos) break;
    s.remove_prefix(sp + 1);
  }
  return out;
}

std::vector<std::string_view> rules_for_code(std::span<const Rule> table, std::string_view code) {
  std::vector<std::string_view> out;
  for (const Rule& r : table)
    if (r.code == code) out.push_back(r.id);
  return out;
}

Status validate_coverage(std::span<const CodeCoverage> table, std::span<const Rule> rules, const CodeTable& codes) {
  std::map<std::string_view, int> seen;
  for (const CodeCoverage& c : table) {
    const std::string name(c.code);
    if (!codes.by_name(c.code)) return Error("coverage names unknown code " + name);
    if (++seen[c.code] > 1) return Error("coverage lists " + name + " twice");
    const bool has_scenario = !coverage_scenarios(c).empty();
    if (has_scenario == !c.why_not.empty())
      return Error("coverage of " + name + " needs either scenarios or a reason, not both or neither");
    if (has_scenario && rules_for_code(rules, c.code).empty())
      return Error("coverage of " + name + " names a scenario but no rule produces the code");
  }
  for (const Code& c : codes.all())
    if (!seen.count(c.name)) return Error("coverage misses code " + c.name);
  return ok();
}

}  // namespace ist::taxonomy
