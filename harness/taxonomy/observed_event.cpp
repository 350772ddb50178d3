#include "taxonomy/observed_event.hpp"

#include <array>

namespace ist::taxonomy {
namespace {
constexpr std::array<std::string_view, kObservationCount> kNames = {
    "ike_sa_limit_hit", "half_open_limit", "per_ip_half_open_limit", "job_load_limit",
    "cookie_sent", "no_response", "ike_deadline_missed", "child_deadline_missed",
    "child_dropped_no_ike", "rekey_collision", "no_proposal_chosen", "ts_unacceptable",
    "authentication_failed", "no_ike_config", "no_peer_config", "spi_alloc_failed",
    "sa_install_failed", "policy_install_failed", "notify_error", "unsupported_critical_payload",
    "invalid_major_version", "invalid_syntax", "sa_payload_invalid", "ke_payload_invalid",
    "nonce_payload_invalid", "payload_invalid", "ike_hard_expired",
    "child_hard_expired", "delete_received", "xfrm_in_no_states", "xfrm_in_state_expired",
    "xfrm_in_seq_error", "xfrm_in_proto_error", "xfrm_out_no_states"};
}  // namespace

std::string_view to_string(Observation o) {
  auto i = static_cast<std::size_t>(o);
  return i < kNames.size() ? kNames[i] : std::string_view("?");
}

std::optional<Observation> observation_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (kNames[i] == name) return static_cast<Observation>(i);
  return std::nullopt;
}

std::string_view to_string(Side s) { return s == Side::initiator ? "initiator" : "responder"; }
std::string_view to_string(SaKind s) { return s == SaKind::ike ? "ike" : "child"; }

}  // namespace ist::taxonomy
