// traffic: UDP probes through the native engine's tunnels.
#include "scenario/validate/reader.hpp"

namespace ist::scenario::validation {

using namespace std::chrono_literals;

void Validator::read_traffic(const Node* n, Scenario& s) {
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

}  // namespace ist::scenario::validation
