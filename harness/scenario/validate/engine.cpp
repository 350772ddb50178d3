// Checks across sections: what an engine cannot do with what the other sections ask.
#include "scenario/validate/reader.hpp"

#include "ike/proposal_words.hpp"

namespace ist::scenario::validation {
namespace {

// The value under `key` of a map node; nullptr when either is absent or not a map.
const Node* under(const Node* n, const char* key) { return n != nullptr && n->is_map() ? n->find(key) : nullptr; }

}  // namespace

// What the native engine cannot do (auth, gateway configs, proposals), and sut.config's pairing: checked here, where the
// keys have their place in the file, so `run` never meets them (exit 3) after setup.
void Validator::check_engine_limits(const Node& doc, const Scenario& s) {
  const Node* peers = under(&doc, "peers");
  const Node* config = under(under(&doc, "sut"), "config");
  const Node* ss_conf = under(config, "strongswan_conf");
  if (ss_conf != nullptr && s.sut.config.strongswan_conf && !s.sut.config.swanctl_conf) {
    diag_.add(ss_conf->origin,
              "sut.config.strongswan_conf: needs sut.config.swanctl_conf (the connections to test) next to it");
  }
  if (s.peers.engine != Engine::native) return;
  const Node* auth = under(peers, "auth");
  if (auth != nullptr && s.peers.auth != Auth::psk) {
    diag_.add(auth->origin, "peers.auth: " + std::string(to_string(s.peers.auth)) +
                                " needs peers.engine: charon (the native engine authenticates with a PSK only)");
  }
  // A target's config is only read: what the native engine cannot take of it is judged
  // with the target (check_derived_credentials).
  if (config != nullptr && !s.target && (s.sut.config.strongswan_conf || s.sut.config.swanctl_conf)) {
    diag_.add(config->origin, "sut.config: needs peers.engine: charon (the native engine cannot derive its "
                              "peers from a gateway config)");
  }
  // One proposal of the algorithms it has (ike/proposal_words.hpp); the defaults fit.
  const Node* engine = under(peers, "engine");
  for (const bool ike : {true, false}) {
    const SaSettings& sa = ike ? s.peers.ike : s.peers.child;
    const Node* at = under(under(peers, ike ? "ike" : "child"), "proposals");
    if (at == nullptr) at = engine != nullptr ? engine : &doc;
    if (auto words = native::parse_native_proposal(sa.proposals, ike); !words) diag_.add(at->origin, words.error().message);
  }
}

// peers.family: ipv6 runs the harness's own SUT (in a namespace or, backend vm, in a guest)
// or reaches a target: over IPv6, with either engine (a target's addresses are judged in
// target.cpp). What is IPv4 only so far is refused at its key, so `run` never meets it after
// setup.
void Validator::check_family(const Node& doc, const Scenario& s) {
  if (s.peers.family != AddressFamily::ipv6) return;
  const Node* family = under(under(&doc, "peers"), "family");
  const Node* at_family = family != nullptr ? family : &doc;
  auto refuse = [&](const Node* at, const std::string& what) {
    diag_.add(at != nullptr ? at->origin : at_family->origin, what + ": not with peers.family: ipv6 yet");
  };
  if (const Node* t = under(&doc, "traffic")) refuse(t, "traffic: (the data plane's packets are IPv4)");
  if (const Node* c = under(under(&doc, "sut"), "config"))
    refuse(c, "sut.config (a gateway config's subnets and pools are read as IPv4)");
  if (!s.peers.flood.empty())
    refuse(under(under(&doc, "peers"), "flood"), "peers.flood (its spoofed sources and packets are IPv4)");
  if (s.peers.start_action == StartAction::trap)
    refuse(under(under(&doc, "peers"), "start_action"), "peers.start_action: trap (its trigger datagram is IPv4)");
}

}  // namespace ist::scenario::validation
