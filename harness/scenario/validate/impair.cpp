// peers.impair and peers.flood: the native engine misbehaving on purpose.
#include "scenario/validate/reader.hpp"

#include <array>
#include <cstdio>
#include <utility>

namespace ist::scenario::validation {

using namespace std::chrono_literals;

// Needs peers.engine native: charon initiators cannot pick single IKE messages.
bool Validator::native_only(const Node& n, const std::string& path, const Peers& p) {
  if (p.engine == Engine::native) return true;
  diag_.add(n.origin, path + ": needs peers.engine: native (charon initiators cannot drop, delay or "
                             "rewrite single IKE messages or spoof sources; use link.loss for random "
                             "loss with charon peers)");
  return false;
}

namespace {

// The words each typed setting is written as, in the order the diagnostics list them.
constexpr std::array kMalformKinds{std::pair{"unknown_critical", MalformKind::unknown_critical},
                                   std::pair{"bad_version", MalformKind::bad_version},
                                   std::pair{"short_nonce", MalformKind::short_nonce},
                                   std::pair{"bad_ke", MalformKind::bad_ke},
                                   std::pair{"bad_length", MalformKind::bad_length}};
constexpr std::array kActions{std::pair{"drop", ImpairAction::drop}, std::pair{"delay", ImpairAction::delay},
                              std::pair{"duplicate", ImpairAction::duplicate},
                              std::pair{"reorder", ImpairAction::reorder},
                              std::pair{"corrupt", ImpairAction::corrupt},
                              std::pair{"malform", ImpairAction::malform}};
constexpr std::array kExchanges{std::pair{"IKE_SA_INIT", IkeExchange::ike_sa_init},
                                std::pair{"IKE_AUTH", IkeExchange::ike_auth},
                                std::pair{"CREATE_CHILD_SA", IkeExchange::create_child_sa},
                                std::pair{"INFORMATIONAL", IkeExchange::informational}};
constexpr std::array kDirections{std::pair{"in", ImpairDirection::in}, std::pair{"out", ImpairDirection::out},
                                 std::pair{"both", ImpairDirection::both}};
constexpr std::array kMessages{std::pair{"any", ImpairMessage::any}, std::pair{"request", ImpairMessage::request},
                               std::pair{"response", ImpairMessage::response}};
constexpr std::array kFloodKinds{std::pair{"half_open", FloodKind::half_open},
                                 std::pair{"malformed", FloodKind::malformed}};

}  // namespace

void Validator::read_impairments(const Node* n, Peers& p) {
  const std::string what = "a list of impairments like [{ exchange: IKE_AUTH, direction: in, action: drop }]";
  auto items = list_items(n, "peers.impair", what);
  if (items.empty() || !native_only(*n, "peers.impair", p)) return;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Node& item = *items[i];
    const std::string path = "peers.impair[" + std::to_string(i) + "]";
    if (!item.is_map()) {
      bad(item, path, "a map like { exchange: IKE_AUTH, direction: in, action: drop, peers: 10% }");
      continue;
    }
    MapReader r(&item, path, diag_);
    Impairment m;
    m.origin = item.origin;
    const Node* action = r.get("action");
    if (action == nullptr) diag_.add(item.origin, path + ": missing 'action' (" + std::string("drop, delay, duplicate, reorder, corrupt or malform)"));
    read_enum(action, r.sub("action"), kActions, m.action);
    read_enum(r.get("exchange"), r.sub("exchange"), kExchanges, m.exchange);
    read_enum(r.get("direction"), r.sub("direction"), kDirections, m.direction);
    read_enum(r.get("message"), r.sub("message"), kMessages, m.message);
    read_bool(r.get("esp"), r.sub("esp"), m.esp);
    read_share(r.get("peers"), r.sub("peers"), true, m.peers);
    read_share(r.get("packets"), r.sub("packets"), true, m.packets);
    const Node* delay = r.get("delay");
    read_duration(delay, r.sub("delay"), 1ms, m.delay);
    std::uint64_t copies = 1;
    const Node* copies_node = r.get("copies");
    read_count(copies_node, r.sub("copies"), 1, 16, copies);
    m.copies = static_cast<unsigned>(copies);
    const Node* malform = r.get("malform");
    read_enum(malform, r.sub("malform"), kMalformKinds, m.malform);
    // Keys that only some actions use, and combinations that cannot work.
    auto only_for = [&](const Node* key, const char* name, const char* for_actions) {
      if (key != nullptr) diag_.add(key->origin, path + "." + name + ": only for action " + for_actions);
    };
    if (m.action == ImpairAction::delay && delay == nullptr)
      diag_.add(item.origin, path + ": action delay needs 'delay' (a duration like 6s)");
    if (m.action != ImpairAction::delay && m.action != ImpairAction::reorder)
      only_for(delay, "delay", "delay or reorder");
    if (m.action != ImpairAction::duplicate) only_for(copies_node, "copies", "duplicate");
    if (m.action != ImpairAction::malform) only_for(malform, "malform", "malform");
    if (m.action == ImpairAction::malform && (m.direction != ImpairDirection::out || m.esp))
      diag_.add(item.origin, path + ": malform rewrites the peers' own IKE messages: give direction: out "
                                    "(and no esp)");
    if (m.esp && (m.exchange != IkeExchange::any || m.message != ImpairMessage::any))
      diag_.add(item.origin, path + ": esp rules match ESP datagrams, which have no exchange or message type");
    p.impair.push_back(std::move(m));
  }
}

// "a.b.c.d/len" inside 198.19.0.0/16 (the prefix the SUT routes to the peers namespace).
void Validator::read_sources(const Node* n, const std::string& path, Ipv4Prefix& out) {
  if (n == nullptr) return;
  const std::string what = "an IPv4 prefix inside 198.19.0.0/16 like 198.19.112.0/20";
  if (!need_scalar(*n, path, what)) return;
  unsigned a = 0, b = 0, c = 0, d = 0, len = 0;
  char tail = 0;
  if (std::sscanf(n->scalar.c_str(), "%u.%u.%u.%u/%u%c", &a, &b, &c, &d, &len, &tail) != 5 || a > 255 ||
      b > 255 || c > 255 || d > 255 || len > 32)
    return bad(*n, path, what);
  if (a != 198 || b != 19 || len < 16)
    return bad(*n, path, what,
               "spoofed sources stay inside the harness's own range, in the part its SUT routes back "
               "to the peers namespace");
  out.address = {static_cast<std::uint8_t>(a), static_cast<std::uint8_t>(b), static_cast<std::uint8_t>(c),
                 static_cast<std::uint8_t>(d)};
  out.length = len;
}

void Validator::read_floods(const Node* n, Peers& p) {
  const std::string what = "a list of floods like [{ kind: half_open, rate: 500/s, duration: 5s }]";
  auto items = list_items(n, "peers.flood", what);
  if (items.empty() || !native_only(*n, "peers.flood", p)) return;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const Node& item = *items[i];
    const std::string path = "peers.flood[" + std::to_string(i) + "]";
    if (!item.is_map()) {
      bad(item, path, "a map like { kind: half_open, rate: 500/s, duration: 5s }");
      continue;
    }
    MapReader r(&item, path, diag_);
    Flood f;
    f.origin = item.origin;
    const Node* kind = r.get("kind");
    const Node* rate = r.get("rate");
    const Node* duration = r.get("duration");
    for (auto [node, key] : {std::pair{kind, "kind"}, std::pair{rate, "rate"}, std::pair{duration, "duration"}})
      if (node == nullptr) diag_.add(item.origin, path + ": missing '" + key + "'");
    read_enum(kind, r.sub("kind"), kFloodKinds, f.kind);
    read_rate(rate, r.sub("rate"), f.rate_per_s);
    if (f.rate_per_s > 100000) bad(*rate, r.sub("rate"), "a rate up to 100000/s", "out of range");
    read_duration(duration, r.sub("duration"), 1ms, f.duration);
    read_duration(r.get("start"), r.sub("start"), 0ms, f.start);
    read_sources(r.get("sources"), r.sub("sources"), f.sources);
    const Node* malform = r.get("malform");
    read_enum(malform, r.sub("malform"), kMalformKinds, f.malform);
    if (malform != nullptr && f.kind != FloodKind::malformed)
      diag_.add(malform->origin, path + ".malform: only for kind malformed");
    p.flood.push_back(std::move(f));
  }
}

}  // namespace ist::scenario::validation
