#include "fleet/charon_events.hpp"

#include <charconv>

#include "charon/log_messages.hpp"
#include "charon/log_parser.hpp"

namespace ist::fleet {

using K = PeerObservation::Kind;

std::optional<uint32_t> peer_index_from_name(std::string_view name) {
  if (name.size() < 2 || name[0] != 'p') return std::nullopt;
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), v);
  if (ec != std::errc() || ptr != name.data() + name.size()) return std::nullopt;
  return v;
}

std::string peer_conn_name(uint32_t peer) { return "p" + std::to_string(peer); }

bool log_ends_attempt(std::string_view msg) {
  // strongSwan 5.9.8 initiator-side texts (reference: strongswan-log-messages.md §3, §5).
  static constexpr std::string_view kEnds[] = {
      "giving up after ",                               // retransmits or cookie retries
      "establishing IKE_SA failed, peer not responding",
      "notify error",                                   // received <NOTIFY> notify error
      "notify, no CHILD_SA built",                      // CHILD_SA refused, IKE_SA may stay
      // We rejected the SUT's AUTH (charon then sends AUTHENTICATION_FAILED itself and
      // raises no vici event for the attempt).
      "but MAC mismatched", "no shared key found for", "no trusted ",
      "verification of AUTH payload", "constraint check failed",
  };
  for (auto s : kEnds)
    if (msg.find(s) != std::string_view::npos) return true;
  return false;
}

bool log_means_no_response(std::string_view msg) {
  // "giving up after N retries" is the COOKIE retry limit: an answer, so not this.
  const auto giving_up = msg.find("giving up after ");
  return (giving_up != std::string_view::npos && msg.find(" retransmits", giving_up) != std::string_view::npos) ||
         msg.find("peer not responding") != std::string_view::npos;
}

namespace {
bool is_up(const vici::Message& m) { return m.get_or("up", "no") == "yes"; }

// The event's sections that are IKE_SAs (everything but plain values).
template <class F>
void for_each_sa(const vici::Message& m, F&& f) {
  for (const auto& e : m.elements())
    if (e.kind == vici::Element::Kind::section) f(e.name, *e.section);
}
}  // namespace

void observations_from_event(std::string_view event, const vici::Message& m, MonoTime t,
                             std::vector<PeerObservation>& out) {
  if (event == "ike-updown") {
    bool up = is_up(m);
    for_each_sa(m, [&](const std::string& name, const vici::Message&) {
      if (auto p = peer_index_from_name(name)) out.push_back({up ? K::ike_up : K::ike_down, *p, t, ""});
    });
  } else if (event == "child-updown") {
    bool up = is_up(m);
    for_each_sa(m, [&](const std::string& name, const vici::Message&) {
      if (auto p = peer_index_from_name(name)) out.push_back({up ? K::child_up : K::child_down, *p, t, ""});
    });
  } else if (event == "ike-rekey") {
    for_each_sa(m, [&](const std::string& name, const vici::Message&) {
      if (auto p = peer_index_from_name(name)) out.push_back({K::ike_rekeyed, *p, t, ""});
    });
  } else if (event == "child-rekey") {
    for_each_sa(m, [&](const std::string& name, const vici::Message& sa) {
      auto p = peer_index_from_name(name);
      if (!p) return;
      // One event per rekeyed CHILD_SA under this IKE_SA.
      const vici::Message* children = sa.find_section("child-sas");
      std::size_t n = 0;
      if (children)
        for (const auto& c : children->elements()) n += c.kind == vici::Element::Kind::section;
      for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i) out.push_back({K::child_rekeyed, *p, t, ""});
    });
  } else if (event == "log") {
    auto name = m.get("ikesa-name");
    auto msg = m.get("msg");
    if (!name || !msg) return;
    auto p = peer_index_from_name(*name);
    charon::LogEvent line;
    if (p && charon::classify_message_text(*msg, line) && line.kind == charon::LogEventKind::retransmit)
      out.push_back({K::retransmitted, *p, t, ""});
    else if (p && log_ends_attempt(*msg))
      out.push_back({K::attempt_failed, *p, t, std::string(*msg),
                     log_means_no_response(*msg) ? FailureKind::no_response : FailureKind::evidence});
  }
}

}  // namespace ist::fleet
