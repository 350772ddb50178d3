#pragma once
// What every peer engine needs to know about the peers, whatever drives them: how many,
// their addresses, the SUT they talk to, and what they propose. Engine options extend it.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "charon/conn_spec.hpp"

namespace ist::fleet {

struct PeerPlan {
  uint32_t peers = 1;
  std::function<std::string(uint32_t)> ike_address;    // peer i's IKE address
  std::function<std::string(uint32_t)> inner_address;  // peer i's traffic selector address
  std::string sut_address = "198.18.0.1";
  std::string sut_id = "sut.ikestorm.test";
  std::vector<std::string> remote_ts = {"198.18.255.0/24"};
  std::vector<std::string> ike_proposals = {"aes128-sha256-x25519"};
  std::vector<std::string> esp_proposals = {"aes128gcm16"};
  charon::IkeLifetimes ike;      // what the peers propose and when they rekey
  charon::ChildLifetimes child;
  bool encap = false;            // force UDP encapsulation
  std::string psk;
  // Peer i's identity; empty: charon::peer_identity (the harness's own SUT expects those).
  std::function<std::string(uint32_t)> peer_id;
  // never: peers sharing one identity send no INITIAL_CONTACT (charon engine; the native
  // engine sends none anyway), so none evicts the others on the gateway.
  charon::UniquePolicy unique = charon::UniquePolicy::no;
  // Certificate peers ask for the gateway's certificate (CERTREQ): a gateway configured
  // as charon is by default (send_cert = ifasked) sends it only when asked (charon engine).
  bool send_certreq = false;
};

}  // namespace ist::fleet
