#include "scenario/validate.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <system_error>

#include "netns/peer_capacity.hpp"
#include "scenario/nearest.hpp"
#include "scenario/units.hpp"

namespace ist::scenario {
namespace {

using namespace std::chrono_literals;

constexpr milliseconds kMaxDuration = 30 * 24h;
constexpr double kMaxRate = 1e6;
constexpr std::uint64_t kMaxPeers = 1'000'000;
constexpr std::size_t kMaxPhases = 64;
constexpr std::size_t kMaxProposals = 32;

// The value as quoted in messages: short, printable.
std::string quoted(const Node& n) {
  std::string t = n.text();
  if (t.size() > 60) t = t.substr(0, 57) + "...";
  for (char& c : t) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return "'" + t + "'";
}

std::string got(const Node& n) {
  switch (n.kind) {
    case Node::Kind::null: return "got no value";
    case Node::Kind::sequence: return "got a list";
    case Node::Kind::map: return "got a map";
    case Node::Kind::scalar: return "got " + quoted(n);
  }
  return "";
}

std::string join(std::string_view a, std::string_view b) {
  return a.empty() ? std::string(b) : std::string(a) + "." + std::string(b);
}

// Reads one map: every key asked for is a known key; what is left is reported as unknown,
// with the nearest known key.
class MapReader {
 public:
  MapReader(const Node* node, std::string path, Diagnostics& diag)
      : node_(node), path_(std::move(path)), diag_(diag) {
    if (node_ != nullptr && !node_->is_map() && !node_->is_null()) {
      diag_.add(node_->origin, (path_.empty() ? std::string("scenario") : path_) +
                                   ": expected a map of keys, " + got(*node_));
      node_ = nullptr;
    }
  }
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;
  ~MapReader() { finish(); }

  // The value under key, or nullptr when absent (or the map itself is absent).
  const Node* get(const char* key) {
    known_.emplace_back(key);
    if (node_ == nullptr || !node_->is_map()) return nullptr;
    return node_->find(key);
  }
  // Accepts a key without reading it (read elsewhere).
  void allow(const char* key) { known_.emplace_back(key); }
  const std::string& path() const { return path_; }
  std::string sub(const char* key) const { return join(path_, key); }

 private:
  void finish() {
    if (node_ == nullptr || !node_->is_map()) return;
    for (const auto& e : node_->entries) {
      if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
      std::string where = path_.empty() ? "at top level" : "in " + path_;
      const std::string via = e.added_by.empty() ? "" : e.added_by + ": ";
      diag_.add(e.key_origin,
                via + "unknown key '" + e.key + "' " + where + did_you_mean(e.key, known_));
    }
  }

  const Node* node_;
  std::string path_;
  Diagnostics& diag_;
  std::vector<std::string> known_;
};

class Validator {
 public:
  Validator(const ValidateContext& ctx, Diagnostics& diag) : ctx_(ctx), diag_(diag) {}

  std::optional<Scenario> run(const Node& doc) {
    if (!doc.is_map()) {
      if (!doc.is_null() || diag_.empty()) {
        diag_.add(doc.origin, "a scenario is a YAML map with keys such as name, peers, phases; " +
                                  got(doc));
      }
      return std::nullopt;
    }
    Scenario s;
    s.name = ctx_.default_name.empty() ? "scenario" : ctx_.default_name;
    {
      MapReader top(&doc, "", diag_);
      read_name(top.get("name"), s.name);
      if (auto* n = top.get("description")) read_string(*n, "description", s.description, true);
      read_enum(top.get("backend"), "backend",
                std::array{std::pair{"auto", Backend::auto_select}, std::pair{"xfrm", Backend::xfrm},
                           std::pair{"libipsec", Backend::libipsec}, std::pair{"vm", Backend::vm}},
                s.backend);
      read_number(top.get("time_scale"), "time_scale", 1, 3600, s.time_scale);
      read_count(top.get("seed"), "seed", 0, UINT64_MAX, s.seed);
      read_peers(top.get("peers"), s.peers);
      read_sut(top.get("sut"), s.sut);
      read_link(top.get("link"), s.link);
      read_phases(top.get("phases"), s.phases);
      top.allow("sweep");
      read_expect(top.get("expect"), s);
      read_traffic(top.get("traffic"), s);
    }
    check_engine_limits(doc, s);
    if (!diag_.empty()) return std::nullopt;
    return s;
  }

 private:
  // ---- scalars ---------------------------------------------------------------------------

  void bad(const Node& n, const std::string& path, const std::string& what,
           const std::string& reason = "") {
    std::string msg = path + ": expected " + what + ", " + got(n);
    if (!reason.empty()) msg += ": " + reason;
    diag_.add(n.origin, std::move(msg));
  }

  bool need_scalar(const Node& n, const std::string& path, const std::string& what) {
    if (n.is_scalar()) return true;
    bad(n, path, what);
    return false;
  }

  void read_string(const Node& n, const std::string& path, std::string& out, bool allow_empty) {
    if (!need_scalar(n, path, "text")) return;
    if (!allow_empty && n.scalar.empty()) {
      bad(n, path, "non-empty text");
      return;
    }
    out = n.scalar;
  }

  void read_name(const Node* n, std::string& out) {
    if (n == nullptr) return;
    const std::string what = "a name of 1-64 letters, digits, '.', '_' or '-'";
    if (!need_scalar(*n, "name", what)) return;
    const auto& v = n->scalar;
    const bool ok = !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '-';
    });
    if (!ok) {
      bad(*n, "name", what, "it names the output folder");
      return;
    }
    out = v;
  }

  template <class E, std::size_t N>
  void read_enum(const Node* n, const std::string& path,
                 const std::array<std::pair<const char*, E>, N>& table, E& out) {
    if (n == nullptr) return;
    std::string choices;
    std::vector<std::string> names;
    for (const auto& [name, _] : table) {
      choices += (choices.empty() ? "" : ", ") + std::string(name);
      names.emplace_back(name);
    }
    const std::string what = "one of " + choices;
    if (!need_scalar(*n, path, what)) return;
    for (const auto& [name, value] : table) {
      if (n->scalar == name) {
        out = value;
        return;
      }
    }
    auto near = nearest(n->scalar, names);
    bad(*n, path, what, near ? "did you mean '" + *near + "'?" : "");
  }

  void read_count(const Node* n, const std::string& path, std::uint64_t lo, std::uint64_t hi,
                  std::uint64_t& out, const std::string& out_of_range = "out of range") {
    if (n == nullptr) return;
    const std::string what = hi == UINT64_MAX
                                 ? "a whole number"
                                 : "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
    if (!need_scalar(*n, path, what)) return;
    auto v = parse_count(n->scalar);
    if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
    const auto x = std::get<std::uint64_t>(v);
    if (x < lo || x > hi) return bad(*n, path, what, out_of_range);
    out = x;
  }

  void read_number(const Node* n, const std::string& path, double lo, double hi, double& out) {
    if (n == nullptr) return;
    char what[96];
    std::snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
    if (!need_scalar(*n, path, what)) return;
    auto v = parse_number(n->scalar);
    if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
    const double x = std::get<double>(v);
    if (x < lo || x > hi) return bad(*n, path, what, "out of range");
    out = x;
  }

  bool read_duration(const Node* n, const std::string& path, milliseconds lo, milliseconds& out) {
    if (n == nullptr) return false;
    const std::string what = "a duration like 30s, 5m or 8h (" + format_duration(lo) + " to 30 days)";
    if (!need_scalar(*n, path, what)) return false;
    auto v = parse_duration(n->scalar);
    if (auto* why = std::get_if<std::string>(&v)) {
      bad(*n, path, what, *why);
      return false;
    }
    const auto d = std::get<milliseconds>(v);
    if (d < lo || d > kMaxDuration) {
      bad(*n, path, what, "out of range");
      return false;
    }
    out = d;
    return true;
  }

  void read_rate(const Node* n, const std::string& path, double& out) {
    if (n == nullptr) return;
    const std::string what = "a rate like 200/s or 30/m (above 0, at most 1000000/s)";
    if (!need_scalar(*n, path, what)) return;
    auto v = parse_rate(n->scalar);
    if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
    const double r = std::get<double>(v);
    if (!(r > 0) || r > kMaxRate) return bad(*n, path, what, "out of range");
    out = r;
  }

  void read_share(const Node* n, const std::string& path, bool allow_zero, double& out) {
    if (n == nullptr) return;
    const std::string what = allow_zero ? "a share from 0% to 100%" : "a share above 0%, at most 100%";
    if (!need_scalar(*n, path, what)) return;
    auto v = parse_share(n->scalar);
    if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
    const double f = std::get<double>(v);
    if (f > 1 || (!allow_zero && f <= 0)) return bad(*n, path, what, "out of range");
    out = f;
  }

  void read_bool(const Node* n, const std::string& path, bool& out) {
    if (n == nullptr) return;
    if (!need_scalar(*n, path, "true or false")) return;
    auto v = parse_bool(n->scalar);
    if (std::holds_alternative<std::string>(v)) return bad(*n, path, "true or false");
    out = std::get<bool>(v);
  }

  // ---- sections --------------------------------------------------------------------------

  void read_arrival(const Node* n, const std::string& path, Arrival& out) {
    if (n == nullptr) return;
    if (!n->is_map()) {
      bad(*n, path, "a map with one of rate, burst or ramp (e.g. { rate: 200/s })");
      return;
    }
    MapReader r(n, path, diag_);
    const Node* rate = r.get("rate");
    const Node* burst = r.get("burst");
    const Node* ramp = r.get("ramp");
    const int given = (rate != nullptr) + (burst != nullptr) + (ramp != nullptr);
    if (given != 1) {
      diag_.add(n->origin, path + ": give exactly one of rate, burst or ramp (" +
                               std::to_string(given) + " given)");
      return;
    }
    Arrival a;
    if (rate != nullptr) {
      a.kind = Arrival::Kind::rate;
      read_rate(rate, r.sub("rate"), a.rate_per_s);
    } else if (burst != nullptr) {
      a.kind = Arrival::Kind::burst;
      read_count(burst, r.sub("burst"), 1, kMaxPeers, a.burst);
    } else {
      a.kind = Arrival::Kind::ramp;
      const std::string rp = r.sub("ramp");
      if (!ramp->is_map()) return bad(*ramp, rp, "a map { from: RATE, to: RATE, over: DURATION }");
      MapReader rr(ramp, rp, diag_);
      const Node* from = rr.get("from");
      const Node* to = rr.get("to");
      const Node* over = rr.get("over");
      for (auto [node, key] : {std::pair{from, "from"}, std::pair{to, "to"}, std::pair{over, "over"}}) {
        if (node == nullptr) diag_.add(ramp->origin, rp + ": missing '" + key + "'");
      }
      read_rate(from, rr.sub("from"), a.ramp_from_per_s);
      read_rate(to, rr.sub("to"), a.ramp_to_per_s);
      read_duration(over, rr.sub("over"), 1ms, a.ramp_over);
    }
    out = a;
  }

  void read_proposals(const Node* n, const std::string& path, std::vector<std::string>& out) {
    if (n == nullptr) return;
    const std::string what = "a list of proposals like [aes128-sha256-x25519]";
    std::vector<const Node*> items;
    if (n->is_scalar()) {
      items.push_back(n);
    } else if (n->is_sequence()) {
      for (const auto& i : n->items) items.push_back(&i);
    } else {
      return bad(*n, path, what);
    }
    if (items.empty()) {
      diag_.add(n->origin, path + ": the list is empty; give at least one proposal");
      return;
    }
    if (items.size() > kMaxProposals) return bad(*n, path, what, "more than 32 proposals");
    std::vector<std::string> v;
    for (const Node* i : items) {
      const bool ok = i->is_scalar() && !i->scalar.empty() && i->scalar.size() <= 200 &&
                      std::all_of(i->scalar.begin(), i->scalar.end(), [](char c) {
                        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                               (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '!';
                      });
      if (!ok) {
        bad(*i, path, "a proposal of letters, digits, '-' and '_' (e.g. aes128gcm16-x25519)");
        return;
      }
      v.push_back(i->scalar);
    }
    out = std::move(v);
  }

  void read_sa(const Node* n, const std::string& path, bool ike, SaSettings& out) {
    if (n == nullptr) return;
    MapReader r(n, path, diag_);
    read_proposals(r.get("proposals"), r.sub("proposals"), out.proposals);
    const Node* rekey = r.get("rekey_time");
    const Node* rand = r.get("rand_time");
    const Node* life = r.get("life_time");
    const Node* over = r.get("over_time");
    read_duration(rekey, r.sub("rekey_time"), 0ms, out.rekey_time);
    read_duration(rand, r.sub("rand_time"), 0ms, out.rand_time);
    milliseconds d{0};
    if (read_duration(life, r.sub("life_time"), 1s, d)) out.life_time = d;
    if (read_duration(over, r.sub("over_time"), 0ms, d)) out.over_time = d;
    if (ike) read_duration(r.get("reauth_time"), r.sub("reauth_time"), 0ms, out.reauth_time);
    check_lifetimes(out, path, life, over, rand);
  }

  // life > rekey (or reauth), life = rekey + over when both given, rand within over.
  void check_lifetimes(const SaSettings& sa, const std::string& path, const Node* life,
                       const Node* over, const Node* rand) {
    const milliseconds base = std::max(sa.rekey_time, sa.reauth_time);
    const char* base_name = sa.reauth_time > sa.rekey_time ? "reauth_time" : "rekey_time";
    if (sa.life_time && base > 0ms && *sa.life_time <= base) {
      diag_.add(life->origin, path + ".life_time: " + format_duration(*sa.life_time) +
                                  " must be longer than " + base_name + " (" +
                                  format_duration(base) + ")");
      return;
    }
    if (sa.life_time && sa.over_time && *sa.life_time != base + *sa.over_time) {
      diag_.add(over->origin, path + ".over_time: " + format_duration(*sa.over_time) +
                                  " disagrees with life_time - " + base_name + " (" +
                                  format_duration(*sa.life_time - base) + "); give only one of them");
      return;
    }
    milliseconds margin = sa.over_time   ? *sa.over_time
                          : sa.life_time ? *sa.life_time - base
                                         : milliseconds((base.count() + 9) / 10);
    if (base > 0ms && sa.rand_time > margin) {
      diag_.add(rand->origin, path + ".rand_time: " + format_duration(sa.rand_time) +
                                  " must be at most life_time - " + base_name + " (" +
                                  format_duration(margin) + ")");
    }
  }

  static bool charon_key_ok(const std::string& k) {
    return !k.empty() && k.size() <= 100 && std::all_of(k.begin(), k.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '-' || c == '_';
    });
  }

  // native_peers: the native engine reads the retransmit keys too, within narrower bounds.
  void flatten_charon(const Node& n, const std::string& prefix, const std::string& path,
                      std::vector<CharonSetting>& out, bool native_peers) {
    for (const auto& e : n.entries) {
      const std::string key = prefix.empty() ? e.key : prefix + "." + e.key;
      const std::string full = path + "." + key;
      if (!charon_key_ok(e.key)) {
        diag_.add(e.key_origin, full + ": a strongswan.conf key is letters, digits, '-' and '_'");
        continue;
      }
      const auto& owned = harness_owned_charon_keys();
      const bool refused = std::any_of(owned.begin(), owned.end(), [&](const std::string& o) {
        return key == o || key.rfind(o + ".", 0) == 0;
      });
      if (refused) {
        diag_.add(e.key_origin, full + ": '" + key +
                                    "' is set by the harness (plugin list, vici socket and logs "
                                    "are its own); remove it");
        continue;
      }
      if (e.value.is_map()) {
        flatten_charon(e.value, key, path, out, native_peers);
        continue;
      }
      if (!e.value.is_scalar()) {
        bad(e.value, full, "a single strongswan.conf value");
        continue;
      }
      const auto& v = e.value.scalar;
      const bool clean = v.size() <= 1000 && std::none_of(v.begin(), v.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == '{' || c == '}' || c == '#';
      });
      if (!clean) {
        bad(e.value, full, "a strongswan.conf value", "no braces, '#' or control characters");
        continue;
      }
      // Numbers the native peers read too (run_point.cpp native_retransmit, which trusts these
      // checks): caught here, with their place in the file, rather than when the run starts.
      if (key == "retransmit_tries" || key == "retransmit_timeout" || key == "retransmit_base") {
        char* end = nullptr;
        const double d = std::strtod(v.c_str(), &end);
        const bool whole = key != "retransmit_tries" || d == std::floor(d);
        if (v.empty() || *end != '\0' || !std::isfinite(d) || d < 0 || !whole) {
          bad(e.value, full, key == "retransmit_tries" ? "a whole number >= 0" : "a number >= 0");
          continue;
        }
        if (native_peers) {
          const bool in_range = key == "retransmit_timeout" ? d >= 0.01 && d <= 3600
                                : key == "retransmit_base"  ? d >= 1 && d <= 10
                                                            : d <= 20;
          if (!in_range) {
            bad(e.value, full,
                key == "retransmit_timeout" ? "between 0.01 and 3600 (s)"
                : key == "retransmit_base"  ? "between 1 and 10"
                                            : "a whole number up to 20",
                "the native peers' range");
            continue;
          }
        }
      }
      out.push_back(CharonSetting{key, v});
    }
  }

  void read_charon(const Node* n, const std::string& path, std::vector<CharonSetting>& out,
                   bool native_peers = false) {
    if (n == nullptr || n->is_null()) return;
    if (!n->is_map()) return bad(*n, path, "a map of strongswan.conf charon.* settings");
    flatten_charon(*n, "", path, out, native_peers);
  }

  void read_peers(const Node* n, Peers& p) {
    if (n == nullptr) return;
    MapReader r(n, "peers", diag_);
    read_peer_count(r.get("count"), p);
    read_enum(r.get("engine"), "peers.engine",
              std::array{std::pair{"charon", Engine::charon}, std::pair{"native", Engine::native}},
              p.engine);
    read_enum(r.get("auth"), "peers.auth",
              std::array{std::pair{"psk", Auth::psk}, std::pair{"ecdsa", Auth::ecdsa},
                         std::pair{"rsa", Auth::rsa}, std::pair{"eap-mschapv2", Auth::eap_mschapv2}},
              p.auth);
    read_arrival(r.get("arrival"), "peers.arrival", p.arrival);
    read_sa(r.get("ike"), "peers.ike", true, p.ike);
    read_sa(r.get("child"), "peers.child", false, p.child);
    read_charon(r.get("charon"), "peers.charon", p.charon, p.engine == Engine::native);
    if (const Node* d = r.get("deadlines")) {
      MapReader dr(d, "peers.deadlines", diag_);
      read_duration(dr.get("ike"), "peers.deadlines.ike", 1ms, p.deadline_ike);
      read_duration(dr.get("child"), "peers.deadlines.child", 1ms, p.deadline_child);
    }
    std::uint64_t daemons = 0;
    if (const Node* d = r.get("daemons")) {
      read_count(d, "peers.daemons", 1, 256, daemons);
      if (daemons > 0) p.daemons = static_cast<unsigned>(daemons);
    }
    read_bool(r.get("encap"), "peers.encap", p.encap);
    read_start_action(r.get("start_action"), p);
    read_impairments(r.get("impair"), p);
    read_floods(r.get("flood"), p);
  }

  // The topology gives each peer addresses from the address plan, which holds at most
  // peer_capacity(family) of them (IPv4 is the only family today).
  void read_peer_count(const Node* n, Peers& p) {
    const std::uint64_t cap = netns::peer_capacity(netns::Family::v4);
    read_count(n, "peers.count", 1, cap, p.count,
               "out of range: the address plan holds " + std::to_string(cap) + " IPv4 peers");
  }

  // peers.start_action: trap policies live in the initiator charons' kernel-netlink; the native
  // engine has no kernel policies to trap on.
  void read_start_action(const Node* n, Peers& p) {
    if (n == nullptr) return;
    read_enum(n, "peers.start_action",
              std::array{std::pair{"none", StartAction::none}, std::pair{"trap", StartAction::trap}},
              p.start_action);
    if (p.start_action == StartAction::trap && p.engine != Engine::charon)
      diag_.add(n->origin, "peers.start_action: trap needs peers.engine: charon (the native engine installs no "
                           "kernel policies that could trap traffic)");
  }

  // ---- peers.impair / peers.flood (native engine) ----------------------------------------

  // One word from a fixed list; a misspelling gets the nearest.
  void read_word(const Node* n, const std::string& path, const std::vector<std::string>& choices,
                 std::string& out) {
    if (n == nullptr) return;
    std::string list;
    for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
    const std::string what = "one of " + list;
    if (!need_scalar(*n, path, what)) return;
    if (std::find(choices.begin(), choices.end(), n->scalar) != choices.end()) {
      out = n->scalar;
      return;
    }
    auto near = nearest(n->scalar, choices);
    bad(*n, path, what, near ? "did you mean '" + *near + "'?" : "");
  }

  // Items of a list key; a single map is taken as a list of one.
  std::vector<const Node*> list_items(const Node* n, const std::string& path, const std::string& what) {
    std::vector<const Node*> items;
    if (n == nullptr || n->is_null()) return items;
    if (n->is_map()) {
      items.push_back(n);
    } else if (n->is_sequence()) {
      if (n->items.size() > 64) {
        bad(*n, path, what, "at most 64 entries");
        return {};
      }
      for (const auto& i : n->items) items.push_back(&i);
    } else {
      bad(*n, path, what);
    }
    return items;
  }

  // Needs peers.engine native: charon initiators cannot pick single IKE messages.
  bool native_only(const Node& n, const std::string& path, const Peers& p) {
    if (p.engine == Engine::native) return true;
    diag_.add(n.origin, path + ": needs peers.engine: native (charon initiators cannot drop, delay or "
                               "rewrite single IKE messages or spoof sources; use link.loss for random "
                               "loss with charon peers)");
    return false;
  }

  static const std::vector<std::string>& malform_kinds() {
    static const std::vector<std::string> k = {"unknown_critical", "bad_version", "short_nonce", "bad_ke",
                                               "bad_length"};
    return k;
  }

  void read_impairments(const Node* n, Peers& p) {
    const std::string what = "a list of impairments like [{ exchange: IKE_AUTH, direction: in, action: drop }]";
    auto items = list_items(n, "peers.impair", what);
    if (items.empty() || !native_only(*n, "peers.impair", p)) return;
    static const std::vector<std::string> actions = {"drop", "delay", "duplicate", "reorder", "corrupt", "malform"};
    static const std::vector<std::string> exchanges = {"IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL"};
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
      read_word(action, r.sub("action"), actions, m.action);
      read_word(r.get("exchange"), r.sub("exchange"), exchanges, m.exchange);
      read_word(r.get("direction"), r.sub("direction"), {"in", "out", "both"}, m.direction);
      read_word(r.get("message"), r.sub("message"), {"any", "request", "response"}, m.message);
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
      read_word(malform, r.sub("malform"), malform_kinds(), m.malform);
      // Keys that only some actions use, and combinations that cannot work.
      auto only_for = [&](const Node* key, const char* name, const char* for_actions) {
        if (key != nullptr) diag_.add(key->origin, path + "." + name + ": only for action " + for_actions);
      };
      if (m.action == "delay" && delay == nullptr)
        diag_.add(item.origin, path + ": action delay needs 'delay' (a duration like 6s)");
      if (m.action != "delay" && m.action != "reorder") only_for(delay, "delay", "delay or reorder");
      if (m.action != "duplicate") only_for(copies_node, "copies", "duplicate");
      if (m.action != "malform") only_for(malform, "malform", "malform");
      if (m.action == "malform" && (m.direction != "out" || m.esp))
        diag_.add(item.origin, path + ": malform rewrites the peers' own IKE messages: give direction: out "
                                      "(and no esp)");
      if (m.esp && (!m.exchange.empty() || m.message != "any"))
        diag_.add(item.origin, path + ": esp rules match ESP datagrams, which have no exchange or message type");
      p.impair.push_back(std::move(m));
    }
  }

  // "a.b.c.d/len" inside 198.19.0.0/16 (the prefix the SUT routes to the peers namespace).
  void read_sources(const Node* n, const std::string& path, std::string& out) {
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
    out = n->scalar;
  }

  void read_floods(const Node* n, Peers& p) {
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
      read_word(kind, r.sub("kind"), {"half_open", "malformed"}, f.kind);
      read_rate(rate, r.sub("rate"), f.rate_per_s);
      if (f.rate_per_s > 100000) bad(*rate, r.sub("rate"), "a rate up to 100000/s", "out of range");
      read_duration(duration, r.sub("duration"), 1ms, f.duration);
      read_duration(r.get("start"), r.sub("start"), 0ms, f.start);
      read_sources(r.get("sources"), r.sub("sources"), f.sources);
      const Node* malform = r.get("malform");
      read_word(malform, r.sub("malform"), malform_kinds(), f.malform);
      if (malform != nullptr && f.kind != "malformed")
        diag_.add(malform->origin, path + ".malform: only for kind malformed");
      p.flood.push_back(std::move(f));
    }
  }

  void read_config_path(const Node* n, const std::string& path,
                        std::optional<std::filesystem::path>& out) {
    if (n == nullptr) return;
    const std::string what = "a file path (relative to the scenario file)";
    if (!need_scalar(*n, path, what) || n->scalar.empty()) {
      if (n->is_scalar()) bad(*n, path, what);
      return;
    }
    std::filesystem::path p(n->scalar);
    if (p.is_relative()) p = ctx_.base_dir / p;
    p = p.lexically_normal();
    std::error_code ec;
    if (!std::filesystem::is_regular_file(p, ec)) {
      bad(*n, path, what, "no such file: " + p.string());
      return;
    }
    out = p;
  }

  void read_sut(const Node* n, Sut& sut) {
    if (n == nullptr) return;
    MapReader r(n, "sut", diag_);
    read_charon(r.get("charon"), "sut.charon", sut.charon);
    read_sa(r.get("ike"), "sut.ike", true, sut.ike);
    read_sa(r.get("child"), "sut.child", false, sut.child);
    if (const Node* c = r.get("config")) {
      MapReader cr(c, "sut.config", diag_);
      read_config_path(cr.get("strongswan_conf"), "sut.config.strongswan_conf", sut.config.strongswan_conf);
      read_config_path(cr.get("swanctl_conf"), "sut.config.swanctl_conf", sut.config.swanctl_conf);
    }
  }

  void read_link(const Node* n, Link& link) {
    if (n == nullptr) return;
    MapReader r(n, "link", diag_);
    if (const Node* rate = r.get("rate")) {
      const std::string what = "a link rate like 1gbit or 100mbit (1kbit to 10000gbit)";
      if (need_scalar(*rate, "link.rate", what)) {
        auto v = parse_bitrate(rate->scalar);
        if (auto* why = std::get_if<std::string>(&v)) {
          bad(*rate, "link.rate", what, *why);
        } else if (auto bits = std::get<std::uint64_t>(v); bits < 1000 || bits > 10'000'000'000'000ULL) {
          bad(*rate, "link.rate", what, "out of range");
        } else {
          link.rate_bits_per_s = bits;
        }
      }
    }
    read_share(r.get("loss"), "link.loss", true, link.loss);
  }

  std::optional<Phase> read_phase(const Node& item, const std::string& path) {
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

  void read_phases(const Node* n, std::vector<Phase>& out) {
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

  void read_expect(const Node* n, Scenario& s) {
    if (n == nullptr || n->is_null()) {
      s.expect = {implied_expectation()};
      s.expect_implied = true;
      return;
    }
    if (!n->is_map()) return bad(*n, "expect", "a map of PATH: \"OP NUMBER\"");
    for (const auto& e : n->entries) {
      if (auto why = check_expect_path(e.key, ctx_.known_codes)) {
        diag_.add(e.key_origin, "expect: " + *why);
        continue;
      }
      const std::string path = "expect." + e.key;
      const std::string what = "a condition like \">= 0.99\"";
      if (!need_scalar(e.value, path, what)) continue;
      auto c = parse_condition(e.value.scalar);
      if (auto* why = std::get_if<std::string>(&c)) {
        bad(e.value, path, what, *why);
        continue;
      }
      const auto& pc = std::get<ParsedCondition>(c);
      s.expect.push_back(Expectation{e.key, pc.op, pc.threshold, pc.threshold_text, e.key_origin});
    }
  }

  void read_traffic(const Node* n, Scenario& s) {
    if (n == nullptr) return;
    Traffic t;
    t.origin = n->origin;
    if (!n->is_map() && !n->is_null()) {
      bad(*n, "traffic", "a map such as { peers: 10, rate: 20/s, size: 200, duration: 10s }");
      return;
    }
    {
      MapReader r(n, "traffic", diag_);
      if (const Node* p = r.get("peers")) {
        const std::string what = "a peer count (1 to 1000000) or a share like 50%";
        if (need_scalar(*p, "traffic.peers", what)) {
          if (p->scalar.find('%') != std::string::npos) {
            read_share(p, "traffic.peers", false, t.peer_share);
          } else {
            std::uint64_t count = 0;
            read_count(p, "traffic.peers", 1, kMaxPeers, count);
            if (count > 0) t.peer_count = count;
          }
        }
      }
      if (const Node* rate = r.get("rate")) {
        read_rate(rate, "traffic.rate", t.rate_per_s);
        if (t.rate_per_s > 1000) bad(*rate, "traffic.rate", "a rate per tunnel of at most 1000/s", "out of range");
      }
      read_count(r.get("size"), "traffic.size", 18, 1400, t.size);
      milliseconds d{0};
      if (read_duration(r.get("duration"), "traffic.duration", 1ms, d)) t.duration = d;
      if (const Node* f = r.get("faults")) {
        MapReader fr(f, "traffic.faults", diag_);
        read_count(fr.get("bad_spi"), "traffic.faults.bad_spi", 0, 100000, t.faults.bad_spi);
        read_count(fr.get("replay"), "traffic.faults.replay", 0, 100000, t.faults.replay);
        read_count(fr.get("after_expiry"), "traffic.faults.after_expiry", 0, 100000, t.faults.after_expiry);
      }
    }
    if (s.peers.engine != Engine::native) {
      diag_.add(n->origin,
                "traffic: needs peers.engine: native (the data plane is the native engine's userspace ESP; "
                "charon initiators would need TUN routing per peer, which ikestorm does not set up)");
      return;
    }
    s.traffic = t;
  }

  // ---- across sections ------------------------------------------------------------------

  // What the native engine cannot do, and sut.config's pairing: checked here, where the
  // keys have their place in the file, so `run` never meets them (exit 3) after setup.
  void check_engine_limits(const Node& doc, const Scenario& s) {
    const Node* peers = doc.find("peers");
    const Node* sut = doc.find("sut");
    const Node* config = sut != nullptr && sut->is_map() ? sut->find("config") : nullptr;
    const Node* ss_conf = config != nullptr && config->is_map() ? config->find("strongswan_conf") : nullptr;
    if (ss_conf != nullptr && s.sut.config.strongswan_conf && !s.sut.config.swanctl_conf) {
      diag_.add(ss_conf->origin,
                "sut.config.strongswan_conf: needs sut.config.swanctl_conf (the connections to test) next to it");
    }
    if (s.peers.engine != Engine::native) return;
    const Node* auth = peers != nullptr && peers->is_map() ? peers->find("auth") : nullptr;
    if (auth != nullptr && s.peers.auth != Auth::psk) {
      diag_.add(auth->origin, "peers.auth: " + std::string(to_string(s.peers.auth)) +
                                  " needs peers.engine: charon (the native engine authenticates with a PSK only)");
    }
    if (config != nullptr && (s.sut.config.strongswan_conf || s.sut.config.swanctl_conf)) {
      diag_.add(config->origin, "sut.config: needs peers.engine: charon (the native engine cannot derive its "
                                "peers from a gateway config)");
    }
  }

  const ValidateContext& ctx_;
  Diagnostics& diag_;
};

}  // namespace

const std::vector<std::string>& harness_owned_charon_keys() {
  static const std::vector<std::string> keys = {"load", "load_modular", "plugins.vici.socket",
                                                "filelog"};
  return keys;
}

std::optional<Scenario> validate(const Node& doc, const ValidateContext& ctx, Diagnostics& diag) {
  // Problems of this document alone decide its validity; `diag` may hold (and deduplicate)
  // the same problem from another sweep point.
  Diagnostics own;
  Validator v(ctx, own);
  auto s = v.run(doc);
  diag.merge(own);
  return own.empty() ? s : std::nullopt;
}

}  // namespace ist::scenario
