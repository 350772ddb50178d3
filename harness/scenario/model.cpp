#include "scenario/model.hpp"

#include <thread>

namespace ist::scenario {

const char* to_string(Backend b) {
  switch (b) {
    case Backend::auto_select: return "auto";
    case Backend::xfrm: return "xfrm";
    case Backend::libipsec: return "libipsec";
    case Backend::vm: return "vm";
  }
  return "?";
}

const char* to_string(Engine e) { return e == Engine::charon ? "charon" : "native"; }

const char* to_string(AddressFamily f) { return f == AddressFamily::ipv6 ? "ipv6" : "ipv4"; }

const char* to_string(StartAction a) { return a == StartAction::trap ? "trap" : "none"; }

const char* to_string(Auth a) {
  switch (a) {
    case Auth::psk: return "psk";
    case Auth::ecdsa: return "ecdsa";
    case Auth::rsa: return "rsa";
    case Auth::eap_mschapv2: return "eap-mschapv2";
  }
  return "?";
}

const char* to_string(Phase::Kind k) {
  switch (k) {
    case Phase::Kind::connect: return "connect";
    case Phase::Kind::hold: return "hold";
    case Phase::Kind::storm: return "storm";
    case Phase::Kind::churn: return "churn";
    case Phase::Kind::teardown: return "teardown";
  }
  return "?";
}

unsigned resolved_daemons(const Scenario& s) {
  if (s.peers.daemons) return *s.peers.daemons;
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 1 : cores;
}

}  // namespace ist::scenario
