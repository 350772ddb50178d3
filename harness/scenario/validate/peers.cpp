// peers: count, engine, auth, arrival, SAs, charon settings, deadlines, daemons, start.
#include "scenario/validate/reader.hpp"

#include "netns/peer_capacity.hpp"

namespace ist::scenario::validation {

using namespace std::chrono_literals;

void Validator::read_peers(const Node* n, Peers& p) {
  if (n == nullptr) return;
  MapReader r(n, "peers", diag_);
  // Before count: its bound follows the family.
  read_enum(r.get("family"), "peers.family",
            std::array{std::pair{"ipv4", AddressFamily::ipv4}, std::pair{"ipv6", AddressFamily::ipv6}},
            p.family);
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
  if (const Node* t = r.get("trap_traffic")) {
    read_rate(t, "peers.trap_traffic", p.trap_traffic_per_s);
    if (p.trap_traffic_per_s > 1000) bad(*t, "peers.trap_traffic", "a rate per peer of at most 1000/s", "out of range");
    if (p.start_action != StartAction::trap)
      diag_.add(t->origin, "peers.trap_traffic: needs peers.start_action: trap (the datagrams test the kernel's trap "
                           "policies; without them they would leave unprotected)");
  }
  if (const Node* v = r.get("vips")) {
    read_bool(v, "peers.vips", p.vips);
    if (p.vips && p.engine != Engine::charon)
      diag_.add(v->origin, "peers.vips: needs peers.engine: charon (the native engine sends no CFG_REQUEST yet)");
  }
  read_impairments(r.get("impair"), p);
  read_floods(r.get("flood"), p);
  read_credentials(r, p);
}

// The topology gives each peer addresses from the address plan, which holds at most
// peer_capacity(family) of them (peers.family, read first).
void Validator::read_peer_count(const Node* n, Peers& p) {
  const bool v6 = p.family == AddressFamily::ipv6;
  const std::uint64_t cap = netns::peer_capacity(v6 ? netns::Family::v6 : netns::Family::v4);
  read_count(n, "peers.count", 1, cap, p.count,
             "out of range: the address plan holds " + std::to_string(cap) + (v6 ? " IPv6" : " IPv4") +
                 " peers" + (v6 ? "" : " (peers.family: ipv6 holds " +
                                           std::to_string(netns::peer_capacity(netns::Family::v6)) + ")"));
}

// peers.start_action: trap policies live in the initiator charons' kernel-netlink; the native
// engine has no kernel policies to trap on.
void Validator::read_start_action(const Node* n, Peers& p) {
  if (n == nullptr) return;
  read_enum(n, "peers.start_action",
            std::array{std::pair{"none", StartAction::none}, std::pair{"trap", StartAction::trap}},
            p.start_action);
  if (p.start_action == StartAction::trap && p.engine != Engine::charon)
    diag_.add(n->origin, "peers.start_action: trap needs peers.engine: charon (the native engine installs no "
                         "kernel policies that could trap traffic)");
}

void Validator::read_arrival(const Node* n, const std::string& path, Arrival& out) {
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

}  // namespace ist::scenario::validation
