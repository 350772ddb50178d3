#pragma once
// The user's own gateway as the SUT (scenario `sut.config`): reads their strongswan.conf
// and swanctl.conf, keeps their settings, rewrites only what the harness must own, and
// derives the peers that match their connection. Every rewrite is listed in `changes`
// (for the report's notes), e.g.
//   "connections.roadwarriors.local_addrs: 203.0.113.10 -> 198.18.0.1 (the SUT address)".
//
// Owned by the harness: the vici socket, the plugin list (load, load_modular), logging
// (filelog, syslog), start-scripts and updown scripts (dropped, with a note), and in the
// tested connection its addresses (their local_addrs -> the SUT address, their
// remote_addrs -> the peer range, local_ts outside the SUT subnet -> the SUT subnet,
// remote_ts -> the peers' inner range), start_action (a responder under test waits for its
// peers), and its pool (with peers.vips rewritten into the peers' inner range, sized for
// peers.count; without, removed: charon refuses peers asking for no address).
// `charon-systemd { }` is read like `charon { }`. Their other connections are loaded as
// written (config lookups cost what they cost on their gateway) but never start anything;
// the tested one is loaded first.
//
// Authentication of the tested connection: psk (peers use the secret charon would pick for
// them; per-client secrets keyed by addresses or identities are mapped onto the peers),
// pubkey/pubkey and pubkey/eap-mschapv2 (a per-run CA stands in for their certificate
// files; their local.id is the SUT certificate's subject and SAN). What needs a service
// outside the gateway (RADIUS, OCSP, CRL servers, SQL, DHCP, DNSSEC, smartcards, other
// EAP methods) is a GatewayProblem naming the feature and their file:line.
#include <map>
#include <string>
#include <vector>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/settings.hpp"
#include "common/result.hpp"

namespace ist::charon {

// Where the harness topology puts things (docs/design.md, "Address plan").
struct GatewayPlan {
  std::string sut_address = "198.18.0.1";
  std::string peer_range = "198.19.0.0/17";        // peers' IKE addresses
  std::string sut_subnet = "198.18.255.0/24";      // behind the SUT
  std::string peer_inner_range = "198.19.128.0/17";
  uint32_t peers = 1;      // scenario peers.count: a pool of theirs is sized for all of them
  bool peer_vips = false;  // scenario peers.vips: peers ask for a virtual IP from their pool
  // An external gateway's config (scenario target: with sut.config): read, not started. Its
  // addresses stand (sut_address is target.address, peer_range target.peers, peer_inner_range
  // target.inner or target.peers); nothing is rewritten for a SUT of ours, its strongswan.conf
  // and other connections are not read, and the identities its secrets are keyed by are the
  // peers' as written (see README, "sut.config with target:").
  bool target = false;
};

// The plan for a target's config (GatewayPlan::target), from the scenario's target: keys.
GatewayPlan target_gateway_plan(const std::string& address, const std::string& peers,
                                const std::string& inner, uint32_t count, bool vips);

// Something in their config the harness cannot run, at their file and line (line 0: the
// file as a whole), e.g. "swanctl.conf:14: connections.rw-eap.remote.auth = eap-radius:
// needs a RADIUS server, which ikestorm cannot provide in its test network".
struct GatewayProblem {
  std::string file;
  int line = 0;
  std::string message;
  int column = 0;  // 0: the line as a whole
  std::string str() const;  // "file:line: message"
};

struct GatewayFiles {
  std::string strongswan_conf;  // may be empty: charon defaults
  std::string swanctl_conf;     // required
  std::string connection;       // the connection peers are derived from; empty = the first
};

struct GatewayAdaptation {
  // From their strongswan.conf `charon { ... }` section as dotted keys, harness-owned keys
  // removed: for CharonSettings::user_keys (they override the tuned defaults).
  std::map<std::string, std::string> sut_user_keys;
  std::vector<std::string> sut_extra_plugins;  // for CharonSettings::extra_plugins
  // What the SUT loads, in order: their secrets (load-shared) then their connections
  // (load-conn), rewritten.
  std::vector<ViciRequest> sut_requests;
  std::vector<std::string> sut_conn_names;
  std::vector<ViciRequest> sut_pools;  // load-pool: the tested connection's pool, rewritten
  std::string pool;                    // its addrs ("198.19.255.0/24"); empty: no pool
  std::string sut_id;  // their local id (empty: the SUT's address)
  AuthKind auth = AuthKind::psk;  // psk, or ecdsa: their certificates replaced by the harness CA

  // Peers: template() + peer_conn(); everything but the per-peer fields is theirs.
  std::string derived_from;   // their connection's name
  ConnSpec peer_template;     // name/local_addrs/local_id/local_ts are set per peer
  std::string peer_id_pattern;  // "{i}" is replaced by the peer index
  SharedSecret peer_secret;   // psk: the PSK every peer loads (no owners)

  std::vector<std::string> changes;  // human-readable, one per rewrite or ignored item
  // Their tested connection's addresses as written (secrets keyed by them are remapped).
  std::vector<std::string> their_local_addrs, their_remote_addrs;
  // Where the tested connection's settings the peers take were written (line 0: not
  // written): what refuses one of them (the native engine: PSK only, one proposal) points there.
  GatewayProblem auth_at, ike_proposals_at, esp_proposals_at;
};

// What a peer offering one proposal and no PFS (the native engine) takes of a derived list:
// the first proposal; with `esp`, its DH groups dropped (the first CHILD_SA has no KE).
std::string single_proposal(const std::vector<std::string>& proposals, bool esp);

// Errors: every problem (GatewayProblem::str, one per line), or what stopped the reading.
Result<GatewayAdaptation> adapt_gateway(const GatewayFiles& files, const GatewayPlan& plan);

// What `validate` reports for sut.config (exit 2): every feature of their config the test
// network cannot provide, each at their file:line, or else what stops adapt_gateway. Empty:
// the config runs as the SUT.
std::vector<GatewayProblem> check_gateway_config(const GatewayFiles& files, const GatewayPlan& plan);

// What the SUT loaded, in swanctl.conf syntax, secrets redacted, the changes as comments at
// the top: for the run folder (sut/swanctl.conf).
std::string render_gateway_swanctl_conf(const GatewayAdaptation& a);

// For a.auth != psk: the options that make material whose identities match the gateway
// (SUT id = their local id, peer ids from the pattern).
AuthMaterialOptions gateway_material_options(const GatewayAdaptation& a, uint32_t peers,
                                             const std::string& dir);
// Puts the SUT's certificate into the tested connection and the CA/key requests in front
// of sut_requests. No-op for psk.
Status apply_gateway_auth(GatewayAdaptation& a, const AuthMaterial& m);

// Peer i's connection: the template with its name "p<i>", its IKE and inner addresses and
// its identity (peer_id_pattern with {i} replaced); with material, its certificate.
ConnSpec gateway_peer_conn(const GatewayAdaptation& a, uint32_t i, const std::string& ike_address,
                           const std::string& inner_address, const AuthMaterial* m = nullptr);
std::string gateway_peer_id(const GatewayAdaptation& a, uint32_t i);
// An identity pattern with every "{i}" replaced by the peer index (peers.id, gateway ids).
std::string peer_id_from_pattern(std::string pattern, uint32_t i);

}  // namespace ist::charon
