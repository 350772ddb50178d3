// phases: connect first, teardown last, hold / storm / churn between.
#include "scenario/validate/reader.hpp"

#include <algorithm>

namespace ist::scenario::validation {

using namespace std::chrono_literals;

std::optional<Phase> Validator::read_phase(const Node& item, const std::string& path) {
  static const std::vector<std::string> kinds = {"connect", "hold", "storm", "churn", "teardown"};
  const std::string what = "a phase: one of connect, hold, storm, churn, teardown";
  std::string kind;
  const Node* body = nullptr;
  Origin kind_origin = item.origin;
  if (item.is_scalar()) {
    kind = item.scalar;
  } else if (item.is_map() && item.entries.size() == 1) {
    kind = item.entries[0].key;
    kind_origin = item.entries[0].key_origin;
    body = &item.entries[0].value;
  } else if (item.is_map()) {
    diag_.add(item.origin, path + ": a phase is one key (connect, hold, storm, churn or "
                                  "teardown), got " + std::to_string(item.entries.size()) + " keys");
    return std::nullopt;
  } else {
    bad(item, path, what);
    return std::nullopt;
  }
  const auto it = std::find(kinds.begin(), kinds.end(), kind);
  if (it == kinds.end()) {
    diag_.add(kind_origin, path + ": unknown phase '" + kind + "'" + did_you_mean(kind, kinds) +
                               " (phases: connect, hold, storm, churn, teardown)");
    return std::nullopt;
  }
  Phase ph;
  ph.kind = static_cast<Phase::Kind>(it - kinds.begin());
  ph.origin = kind_origin;
  const std::string p = path + "." + kind;
  if (body != nullptr && !body->is_map() && !body->is_null()) {
    bad(*body, p, "a map of phase settings (or {})");
    return std::nullopt;
  }
  MapReader r(body, p, diag_);
  auto require = [&](const Node* v, const char* key) {
    if (v == nullptr) diag_.add(kind_origin, p + ": missing '" + key + "'");
    return v;
  };
  switch (ph.kind) {
    case Phase::Kind::connect:
      if (const Node* a = r.get("arrival")) {
        Arrival arr;
        read_arrival(a, p + ".arrival", arr);
        ph.arrival = arr;
      }
      break;
    case Phase::Kind::hold:
      read_duration(require(r.get("duration"), "duration"), p + ".duration", 1ms, ph.duration);
      break;
    case Phase::Kind::storm:
      read_share(require(r.get("peers"), "peers"), p + ".peers", false, ph.share);
      read_duration(r.get("within"), p + ".within", 0ms, ph.within);
      break;
    case Phase::Kind::churn:
      read_rate(require(r.get("rate"), "rate"), p + ".rate", ph.rate_per_s);
      read_duration(require(r.get("duration"), "duration"), p + ".duration", 1ms, ph.duration);
      break;
    case Phase::Kind::teardown:
      break;
  }
  return ph;
}

void Validator::read_phases(const Node* n, std::vector<Phase>& out) {
  if (n == nullptr) {
    out = {Phase{Phase::Kind::connect}, Phase{Phase::Kind::hold, std::nullopt, 10s},
           Phase{Phase::Kind::teardown}};
    return;
  }
  if (!n->is_sequence()) return bad(*n, "phases", "a list of phases (- connect: {} ...)");
  if (n->items.empty()) {
    diag_.add(n->origin, "phases: the list is empty; give at least - connect: {}");
    return;
  }
  if (n->items.size() > kMaxPhases) return bad(*n, "phases", "at most 64 phases");
  std::vector<Phase> v;
  for (std::size_t i = 0; i < n->items.size(); ++i) {
    auto ph = read_phase(n->items[i], "phases[" + std::to_string(i) + "]");
    if (!ph) continue;
    const std::string where = "phases[" + std::to_string(i) + "]";
    if (ph->kind == Phase::Kind::connect && i != 0) {
      diag_.add(ph->origin, where + ": connect must be the first phase, and only once");
    } else if (ph->kind != Phase::Kind::connect && i == 0) {
      diag_.add(ph->origin, where + ": the first phase must be connect (the others act on "
                                    "connected peers)");
    } else if (ph->kind == Phase::Kind::teardown && i + 1 != n->items.size()) {
      diag_.add(ph->origin, where + ": teardown must be the last phase");
    }
    v.push_back(*ph);
  }
  out = std::move(v);
}

}  // namespace ist::scenario::validation
