#pragma once
// One IKEv2 connection (IKE_SA config + one CHILD_SA config), for an initiator peer or for
// the SUT's responder, and the PSK secrets that go with it. Converted to vici `load-conn` /
// `load-shared` messages (what the harness sends) and rendered as swanctl.conf text (what
// users read in the run folder). Both come from the same message, so they cannot disagree.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "vici/message.hpp"

namespace ist::charon {

using Seconds = std::chrono::seconds;

// IKE_SA lifetimes, always written explicitly (swanctl's implicit defaults round badly for
// short values). 0 disables rekeying / reauthentication.
struct IkeLifetimes {
  Seconds rekey_time{14400};
  Seconds reauth_time{0};
  Seconds over_time{1440};   // hard lifetime = max(rekey, reauth) + over_time
  Seconds rand_time{0};      // rekey happens up to rand_time early
};
// CHILD_SA lifetimes. life_time is the hard expiry.
struct ChildLifetimes {
  Seconds rekey_time{3600};
  Seconds life_time{3960};
  Seconds rand_time{0};
};
// The harness's rule where only a rekey time is given: hard limit = 1.1 x rekey, rounded up
// (IKE: over_time = 0.1 x rekey, rounded up, at least 1 s), reauthentication off.
IkeLifetimes ike_lifetimes_from_rekey(Seconds rekey, Seconds rand = Seconds{0});
ChildLifetimes child_lifetimes_from_rekey(Seconds rekey, Seconds rand = Seconds{0});

enum class AuthMethod { psk, pubkey, eap_mschapv2 };
enum class StartAction { none, trap, start };
enum class DpdAction { clear, trap, restart };
// What charon does with an existing IKE_SA of the same identities: `no` (replace it when
// the peer sends INITIAL_CONTACT: what a gateway does for a reconnecting client), `never`
// (never check), `replace`, `keep`.
enum class UniquePolicy { no, never, replace, keep };

// A certificate or key as sent over vici (PEM), with the file name it was written as (what
// the rendered swanctl.conf shows; relative to swanctl's x509/ or private/ directory).
struct PemBlob {
  std::string file;
  std::string pem;
};

struct ConnSpec {
  std::string name;                       // connection name (vici / swanctl)
  std::vector<std::string> local_addrs;   // addresses, ranges, subnets; empty = %any
  std::vector<std::string> remote_addrs;  // empty = %any
  std::optional<uint16_t> local_port;     // unset = charon's (500)
  std::optional<uint16_t> remote_port;
  std::string local_id;                   // IKE identity; empty = the IP address
  std::string remote_id;                  // "%any" accepts any identity
  AuthMethod local_auth = AuthMethod::psk;
  AuthMethod remote_auth = AuthMethod::psk;
  // pubkey: our certificate, sent in load-conn's local.certs (vici takes the data, not a
  // file name); the connection then sets send_cert = always (peers send no CERTREQs).
  std::optional<PemBlob> local_cert;
  std::string local_eap_id;               // eap-mschapv2 client: EAP identity (empty = local_id)
  std::string remote_eap_id;              // eap-mschapv2 server: "%any" asks for it (eap-identity)
  std::vector<std::string> ike_proposals; // empty = charon's "default"
  IkeLifetimes ike;
  uint32_t keyingtries = 1;               // initiator attempts before giving up (0 = forever)
  Seconds dpd_delay{0};                   // 0 = no liveness checks
  bool encap = false;                     // force UDP encapsulation (NAT-T); see NAT.md
  bool mobike = false;                    // off: peers never move, and it floats to 4500
  UniquePolicy unique = UniquePolicy::no;
  bool send_certreq = false;              // PSK: no CERTREQ payloads
  // Virtual IPs to request ("0.0.0.0": any IPv4 address from the responder's pool; scenario
  // peers.vips). With one, local_ts "dynamic" stands for the address assigned.
  std::vector<std::string> vips;

  std::string child_name = "net";
  std::vector<std::string> local_ts;      // required: kernel-libipsec refuses "dynamic" here
  std::vector<std::string> remote_ts;
  std::vector<std::string> esp_proposals; // empty = charon's "default"
  ChildLifetimes child;
  StartAction start_action = StartAction::none;
  DpdAction dpd_action = DpdAction::clear;
  // Fixed CHILD reqid; 0 = charon numbers them from 1 per daemon. Daemons sharing a namespace
  // with trap policies need disjoint ones: every daemon gets every ACQUIRE and finds its trap
  // by reqid.
  uint32_t reqid = 0;
};

// Checks what charon would refuse or silently change: names, empty selectors, lifetimes
// (life_time above rekey_time, rand_time below the margin), pubkey without a certificate.
Status validate(const ConnSpec& c);

// The body of a `load-conn` request: { <name> = { version = 2, ... } }.
Result<vici::Message> to_load_conn(const ConnSpec& c);

// A pre-shared key for the given identities (owners); no owners = any identity.
struct SharedSecret {
  std::string id;                    // unique handle (vici `id`, swanctl section ike-<id>)
  std::string secret;
  std::vector<std::string> owners;
};
// The body of a `load-shared` request.
Result<vici::Message> to_load_shared(const SharedSecret& s);

// A vici message in swanctl.conf syntax (lists comma-joined), `depth` levels indented.
void render_conf_section(const vici::Message& m, int depth, std::string& out);

// swanctl.conf text for a set of connections and secrets. Secrets are written as
// "<redacted>" unless `include_secrets` (the run folder is not a key store).
Result<std::string> render_swanctl_conf(const std::vector<ConnSpec>& conns,
                                        const std::vector<SharedSecret>& secrets,
                                        bool include_secrets = false);

// The SUT's single responder connection that accepts every peer. One config instead of one
// per peer because charon looks configs up linearly by address and identity: with N
// peers, per-peer configs make every IKE_SA_INIT O(N). Identities are checked through the
// PSK lookup (one secret per identity, or one shared secret), not through the config.
struct ResponderOptions {
  std::string name = "sut";
  std::string local_addr = "198.18.0.1";
  std::string peer_range = "198.19.0.0/17";       // remote_addrs
  std::string local_id = "sut.ikestorm.test";
  std::vector<std::string> local_ts = {"198.18.255.0/24"};
  std::vector<std::string> remote_ts = {"198.19.128.0/17"};  // narrowed to each peer's /32
  std::vector<std::string> ike_proposals;
  std::vector<std::string> esp_proposals;
  IkeLifetimes ike;
  ChildLifetimes child;
  bool encap = false;
  UniquePolicy unique = UniquePolicy::no;
};
ConnSpec sut_responder_conn(const ResponderOptions& o);

// One address as a traffic selector of just that host: "a.b.c.d/32" or "x:y::z/128".
std::string host_ts(const std::string& address);

std::string_view to_string(AuthMethod a);
std::string_view to_string(StartAction a);
std::string_view to_string(DpdAction a);
std::string_view to_string(UniquePolicy u);

}  // namespace ist::charon
