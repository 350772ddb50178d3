#include "charon/log_observations.hpp"

namespace ist::charon {

using taxonomy::Observation;
using taxonomy::ObservedEvent;
using taxonomy::SaKind;
using taxonomy::Side;

std::optional<Observation> observation_of(LogEventKind k) {
  using K = LogEventKind;
  switch (k) {
    case K::ike_sa_limit_hit: return Observation::ike_sa_limit_hit;
    case K::half_open_limit: return Observation::half_open_limit;
    case K::per_ip_half_open_limit: return Observation::per_ip_half_open_limit;
    case K::job_load_limit: return Observation::job_load_limit;
    case K::cookie_sent: return Observation::cookie_sent;
    case K::giving_up: return Observation::no_response;
    case K::rekey_collision: return Observation::rekey_collision;
    case K::no_proposal_chosen: return Observation::no_proposal_chosen;
    case K::ts_unacceptable: return Observation::ts_unacceptable;
    case K::authentication_failed: return Observation::authentication_failed;
    case K::no_ike_config: return Observation::no_ike_config;
    case K::no_peer_config: return Observation::no_peer_config;
    case K::spi_alloc_failed: return Observation::spi_alloc_failed;
    case K::sa_install_failed: return Observation::sa_install_failed;
    case K::policy_install_failed: return Observation::policy_install_failed;
    case K::notify_error: return Observation::notify_error;
    case K::critical_payload: return Observation::unsupported_critical_payload;
    case K::unsupported_version: return Observation::invalid_major_version;
    case K::child_expired: return Observation::child_hard_expired;
    case K::delete_received: return Observation::delete_received;
    default: return std::nullopt;
  }
}

Observation observation_of_payload(std::string_view payload) {
  if (payload == "SECURITY_ASSOCIATION" || payload == "SA") return Observation::sa_payload_invalid;
  if (payload == "KEY_EXCHANGE" || payload == "KE" || payload == "DH public value")
    return Observation::ke_payload_invalid;
  if (payload == "NONCE") return Observation::nonce_payload_invalid;
  return Observation::payload_invalid;
}

std::optional<ObservedEvent> observe_charon_log_event(const JoinedLogEvent& j, Side log_side) {
  auto what = j.kind == LogEventKind::payload_error ? std::optional(observation_of_payload(j.detail))
                                                    : observation_of(j.kind);
  if (!what) return std::nullopt;
  // A CHILD_SA delete is routine (rekeys delete the old CHILD_SA); only IKE_SA deletes are
  // worth an (informational) record.
  if (*what == Observation::delete_received && j.sa != LogSa::ike) return std::nullopt;
  ObservedEvent e;
  e.t_ms = j.t_ms < 0 ? 0 : j.t_ms;
  e.side = log_side;
  e.what = *what;
  e.sa = j.sa == LogSa::child ? SaKind::child : SaKind::ike;
  e.exchange = j.exchange;
  if (log_side == Side::initiator) {
    e.peer = j.conn;  // a peer's connection name is the peer
    e.address = j.local_address;
  } else {
    e.peer = j.peer_id;
    e.address = j.peer_address;
  }
  e.attempt = j.attempt;
  e.evidence = j.context;
  e.evidence.push_back(j.raw);
  return e;
}

std::vector<ObservedEvent> observe_charon_log(std::string_view text, Side log_side, std::string_view source) {
  std::vector<ObservedEvent> out;
  LogJoiner joiner;
  auto sink = [&](const JoinedLogEvent& j) {
    if (auto e = observe_charon_log_event(j, log_side)) {
      if (!e->attempt.empty()) e->attempt = std::string(source) + "#" + e->attempt;
      out.push_back(std::move(*e));
    }
  };
  for_each_log_line(text, [&](const LogEvent& e) { joiner.feed(e, sink); });
  joiner.finish(sink);
  return out;
}

}  // namespace ist::charon
