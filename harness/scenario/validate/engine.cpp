// Checks across sections: what an engine cannot do with what the other sections ask.
#include "scenario/validate/reader.hpp"

namespace ist::scenario::validation {

// What the native engine cannot do, and sut.config's pairing: checked here, where the
// keys have their place in the file, so `run` never meets them (exit 3) after setup.
void Validator::check_engine_limits(const Node& doc, const Scenario& s) {
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

}  // namespace ist::scenario::validation
