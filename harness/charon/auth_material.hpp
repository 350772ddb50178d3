#pragma once
// Authentication material made per run (scenario `peers.auth`): a throwaway CA, the SUT's
// certificate and key, and per-peer certificates/keys (ecdsa, rsa) or EAP-MSCHAPv2
// secrets, generated in-process with OpenSSL 3, plus the vici requests that load them and
// the ConnSpec changes that use them.
//
// Peer i's identity is peer_id(i) (default peer_identity(i), which both peer engines use);
// its certificate carries it as CN and SAN dNSName, so charon matches the
// FQDN identity against the SAN. The SUT's identity is sut_id likewise.
//
// RSA: one RSA-2048 key takes ~0.1 s to generate on the 2-core CI machine, so by default
// all peers share ONE RSA key, each with its own certificate (identity); set
// per_peer_rsa_keys to make one key per peer. The SUT's signatures (what loads a gateway's
// CPU) are the same either way. ECDSA P-256 keys are cheap: one per peer.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "charon/conn_spec.hpp"
#include "charon/plugins.hpp"
#include "common/result.hpp"
#include "vici/message.hpp"

namespace ist::charon {

enum class AuthKind { psk, ecdsa, rsa, eap_mschapv2 };
std::string_view to_string(AuthKind k);                 // "psk", "ecdsa", "rsa", "eap-mschapv2"
Result<AuthKind> parse_auth_kind(std::string_view name);

// The plugins a daemon (SUT or initiator) needs on top of base_plugins for `kind`: for
// CharonSettings::extra_plugins on both sides.
std::vector<std::string> auth_extra_plugins(AuthKind kind);

// Peer i's IKE identity: "peer-<i>.ikestorm.test" (an FQDN under a reserved test domain).
std::string peer_identity(uint32_t peer);

struct AuthMaterialOptions {
  AuthKind kind = AuthKind::ecdsa;
  uint32_t peers = 1;
  // Where PEM files are written for people to read: ca.pem, x509/sut.pem, private/sut.key,
  // x509/peer-<i>.pem, private/peer-<i>.key (or private/peers.key when shared). Empty: no
  // files. EAP secrets are never written (the run folder is not a key store).
  std::string dir;
  std::string sut_id = "sut.ikestorm.test";
  std::function<std::string(uint32_t)> peer_id;  // empty: peer_identity
  bool per_peer_rsa_keys = false;
  std::chrono::hours validity{48};
  // A CA of the user's (scenario peers.ca_cert / ca_key, PEM files): the peers' certificates
  // are issued from it instead of a throwaway CA, and no SUT certificate is made (the gateway
  // is someone else's). Empty: the throwaway CA.
  std::string ca_cert_file, ca_key_file;
};

struct AuthMaterial {
  AuthKind kind = AuthKind::psk;
  std::string sut_id;
  std::vector<std::string> peer_ids;  // index = peer
  PemBlob ca_cert;                    // unset for psk
  PemBlob sut_cert, sut_key;          // unset for psk
  std::vector<PemBlob> peer_certs;    // ecdsa/rsa: one per peer
  std::vector<PemBlob> peer_keys;     // ecdsa/rsa: one per peer, or one shared (rsa default)
  std::vector<std::string> eap_secrets;  // eap-mschapv2: one per peer
  double generate_seconds = 0;        // wall time of make_auth_material

  bool shared_peer_key() const { return peer_keys.size() == 1 && peer_certs.size() > 1; }
  const PemBlob& peer_key(uint32_t peer) const {
    return peer_keys[shared_peer_key() ? 0 : peer];
  }
};

// Generates everything for `o.kind` (psk: identities only). Errors name the OpenSSL call.
Result<AuthMaterial> make_auth_material(const AuthMaterialOptions& o);

// One vici request: command ("load-cert", "load-key", "load-shared") and its body.
struct ViciRequest {
  std::string command;
  vici::Message body;
};

// What the SUT loads: the CA (flag CA), its key, and for eap-mschapv2 every peer's EAP
// secret (type EAP, owner = the peer's identity). Its own certificate travels in its
// load-conn (apply_sut_auth). Empty for psk.
std::vector<ViciRequest> sut_credentials(const AuthMaterial& m);

// What one initiator daemon loads for the given peers: the CA (to verify the SUT) and the
// peers' private keys (the shared RSA key once), or their EAP secrets. Empty for psk.
std::vector<ViciRequest> peer_credentials(const AuthMaterial& m, const std::vector<uint32_t>& peers);
// The same for daemon d of `daemons` when peer i runs on daemon i % daemons.
std::vector<ViciRequest> daemon_peer_credentials(const AuthMaterial& m, uint32_t daemon,
                                                 uint32_t daemons);

// Sets the SUT responder's auth: local pubkey with its certificate; remote pubkey (any
// identity certified by the CA) or eap-mschapv2 with eap_id %any. No-op for psk.
Status apply_sut_auth(ConnSpec& c, const AuthMaterial& m);
// Sets peer `peer`'s auth: local pubkey with its certificate, or eap-mschapv2 with its
// identity as EAP identity; remote pubkey (the SUT's certificate). No-op for psk.
Status apply_peer_auth(ConnSpec& c, const AuthMaterial& m, uint32_t peer);

}  // namespace ist::charon
