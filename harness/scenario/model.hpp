#pragma once
// The typed scenario: what one run does. Produced only by validation (scenario/load.hpp), so
// every field holds a checked value. See docs/design.md, "Scenario contract".
//
// Defaults (the README's scenario reference copies this table):
//
// | key                          | default                  | bounds / values                      |
// |------------------------------|--------------------------|--------------------------------------|
// | name                         | file name without .yaml  | 1-64 of [A-Za-z0-9._-]               |
// | description                  | ""                       | text                                 |
// | backend                      | auto                     | auto, xfrm, libipsec, vm             |
// | time_scale                   | 1                        | 1 .. 3600                            |
// | seed                         | 1                        | 0 .. 2^64-1                          |
// | peers.family                 | ipv4                     | ipv4, ipv6 (the peers' addresses, the|
// |                              |                          | SUT's IKE address, the TS)           |
// | peers.count                  | 1000                     | 1 .. 32,767 (ipv4), 1 .. 131,072     |
// |                              |                          | (ipv6) (netns/peer_capacity.hpp)     |
// | peers.engine                 | charon                   | charon, native                       |
// | peers.auth                   | psk                      | psk, ecdsa, rsa, eap-mschapv2        |
// | peers.arrival                | { rate: 500/s }          | exactly one of rate (0 < r <= 1e6/s),|
// |                              |                          | burst (1 .. 1e6 peers at once),      |
// |                              |                          | ramp { from, to, over } (rates, dur.)|
// | peers.ike.proposals          | [aes128-sha256-x25519]   | 1..32 strongSwan proposal strings    |
// | peers.ike.rekey_time         | 8h                       | 0 (never) .. 30 days                 |
// | peers.ike.reauth_time        | 0 (never)                | 0 .. 30 days                         |
// | peers.ike.rand_time          | 0                        | <= life_time - rekey_time            |
// | peers.ike.life_time          | 1.1 x rekey (rounded up) | > rekey_time, <= 30 days             |
// | peers.ike.over_time          | life_time - rekey_time   | life = rekey + over when both given  |
// | peers.child.proposals        | [aes128gcm16]            | as ike                               |
// | peers.child.rekey_time       | 1h                       | as ike (child has no reauth_time)    |
// | peers.child.rand/life/over   | as ike                   | as ike                               |
// | peers.charon.*               | {}                       | strongswan.conf charon.* (initiators)|
// | peers.deadlines.ike          | 10s                      | 1ms .. 30 days                       |
// | peers.deadlines.child        | 5s                       | 1ms .. 30 days                       |
// | peers.daemons                | number of cores          | 1 .. 256 initiator charons           |
// | peers.encap                  | false                    | force UDP encapsulation              |
// | peers.start_action           | none                     | none (vici initiate), trap (charon   |
// |                              |                          | engine: kernel trap policies, started|
// |                              |                          | by a datagram from the inner address)|
// | peers.trap_traffic           | none                     | start_action trap: UDP datagrams per |
// |                              |                          | second from each peer's inner address|
// |                              |                          | through its kernel policy, 0..1000/s |
// | peers.vips                   | false                    | ask for a virtual IP (charon engine; |
// |                              |                          | needs sut.config with pools)         |
// | peers.impair[]               | none                     | native engine only; see Impairment   |
// | peers.flood[]                | none                     | native engine only; see Flood        |
// | sut.charon.*                 | {}                       | strongswan.conf charon.*; load,      |
// |                              |                          | load_modular, plugins.vici.socket,   |
// |                              |                          | filelog are owned by the harness     |
// | sut.ike / sut.child          | as peers (8h / 1h); no   | as peers.ike / peers.child           |
// |                              | proposals = accept the   |                                      |
// |                              | peers' proposals         |                                      |
// | sut.config.strongswan_conf   | none                     | path relative to the scenario file   |
// | sut.config.swanctl_conf      | none                     | path relative to the scenario file   |
// | link.rate                    | unlimited                | 1kbit .. 10000gbit                   |
// | link.loss                    | 0%                       | 0% .. 100%                           |
// | phases                       | [connect, hold 10s,      | connect first and once; teardown     |
// |                              |  teardown]               | only last; at most 64 phases         |
// | phases[].connect.arrival     | peers.arrival            | as peers.arrival                     |
// | phases[].hold.duration       | (required)               | 1ms .. 30 days                       |
// | phases[].storm.peers         | (required)               | 0% < share <= 100%                   |
// | phases[].storm.within        | 0s (all at once)         | 0 .. 30 days (wall clock, not scaled)|
// | phases[].churn.rate          | (required)               | 0 < r <= 1e6/s                       |
// | phases[].churn.duration      | (required)               | 1ms .. 30 days                       |
// | sweep                        | none (one run)           | dotted path: non-empty list; at most |
// |                              |                          | 1000 points in the product           |
// | expect                       | established_ratio >= 1   | path: "OP NUMBER", OP one of         |
// |                              |                          | >= > <= < == !=                      |
// | target                       | none (the harness starts | see Target: an external gateway      |
// |                              | its own SUT)             |                                      |
// | peers.psk_file               | none                     | target only: file holding the PSK    |
// | peers.ca_cert / ca_key       | none                     | target only: PEM CA the gateway trusts|
// | peers.id                     | peer-{i} (derived)       | target only: identity, {i} = index   |
// | peers.remote_id              | the gateway's (derived)  | target only                          |
// | peers.remote_ts              | the gateway's (derived)  | target only: 1..32 prefixes          |
//
// time_scale divides lifetimes (rekey/reauth/life/over/rand) and hold/churn durations; not
// arrival/churn rates, storm windows, deadlines or charon's retransmit timers.
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "scenario/diagnostics.hpp"
#include "scenario/expect.hpp"

namespace ist::scenario {

using std::chrono::milliseconds;

enum class Backend { auto_select, xfrm, libipsec, vm };
enum class Engine { charon, native };
enum class Auth { psk, ecdsa, rsa, eap_mschapv2 };
// The address family of a run (peers.family): the peers' IKE and inner addresses, the SUT's
// IKE address and subnet, the traffic selectors. ipv6 peers hold IPv6 addresses only.
enum class AddressFamily { ipv4, ipv6 };
// How a peer's connection is started (swanctl start_action): `none` = the harness calls vici
// initiate; `trap` = the initiators install kernel trap policies (kernel-netlink) and the
// harness sends a datagram from the peer's inner address, so the kernel's ACQUIRE starts it.
enum class StartAction { none, trap };

struct Arrival {
  enum class Kind { rate, burst, ramp };
  Kind kind = Kind::rate;
  double rate_per_s = 500;        // kind == rate
  std::uint64_t burst = 0;        // kind == burst: this many peers initiated at once
  double ramp_from_per_s = 0;     // kind == ramp: rate rises linearly from..to over `ramp_over`
  double ramp_to_per_s = 0;
  milliseconds ramp_over{0};
};

// IKE or CHILD SA settings as written (unscaled). See effective.hpp for what reaches charon.
struct SaSettings {
  std::vector<std::string> proposals;  // sut: empty = accept what the peers propose
  milliseconds rekey_time{0};          // 0 = never rekey
  milliseconds rand_time{0};
  std::optional<milliseconds> life_time;   // unset: 1.1 x rekey (or rekey + over_time)
  std::optional<milliseconds> over_time;   // unset: life_time - rekey_time
  milliseconds reauth_time{0};         // IKE only; 0 = never
  bool proposals_written = false;      // the file names proposals (they override sut.config's)
};

// strongswan.conf charon.* settings, flattened: key "plugins.kernel-netlink.mtu".
struct CharonSetting {
  std::string key;
  std::string value;
  bool operator==(const CharonSetting&) const = default;
};

// One protocol-aware impairment of the native engine (peers.impair[]): what happens to the
// IKE (or, with esp, ESP) datagrams that match, for a share of the peers. Direction is seen
// from the peer: in = from the SUT, out = to the SUT. Typed once by the validator; the run
// maps each value to the native engine's ImpairRule (run/native_impair.hpp) without a
// failure path, so the scenario library does not depend on the engine.
enum class ImpairAction { drop, delay, duplicate, reorder, corrupt, malform };
enum class IkeExchange { any, ike_sa_init, ike_auth, create_child_sa, informational };  // any: not given
enum class ImpairDirection { in, out, both };
enum class ImpairMessage { any, request, response };
// How malform (and a malformed flood) breaks a message.
enum class MalformKind { unknown_critical, bad_version, short_nonce, bad_ke, bad_length };

struct Impairment {
  ImpairAction action = ImpairAction::drop;
  IkeExchange exchange = IkeExchange::any;  // any: every exchange
  ImpairDirection direction = ImpairDirection::both;
  ImpairMessage message = ImpairMessage::any;
  bool esp = false;              // ESP datagrams instead of IKE
  double peers = 1.0;            // share of peers (exactly round(share x count), from the seed)
  double packets = 1.0;          // share of the matching datagrams
  milliseconds delay{0};         // delay (required); reorder: longest hold (default 1s)
  unsigned copies = 1;           // duplicate: extra copies
  MalformKind malform = MalformKind::unknown_critical;  // malform only
  Origin origin;
};

// An IPv4 prefix as the validator read it ("198.19.112.0/20").
struct Ipv4Prefix {
  std::array<std::uint8_t, 4> address{198, 19, 112, 0};
  unsigned length = 20;
  bool operator==(const Ipv4Prefix&) const = default;
};

// A flood from spoofed source addresses (peers.flood[]): IKE_SA_INITs that are never
// followed up (half_open), or malformed ones. Sources are a prefix inside 198.18.0.0/15 that
// routes back to the peers namespace (198.19.0.0/16, away from the peers' own addresses).
enum class FloodKind { half_open, malformed };

struct Flood {
  FloodKind kind = FloodKind::half_open;
  double rate_per_s = 0;         // datagrams per second
  milliseconds duration{0};      // wall clock, not scaled
  milliseconds start{0};         // after the first peer's initiate
  Ipv4Prefix sources;            // default 198.19.112.0/20
  MalformKind malform = MalformKind::unknown_critical;  // malformed only
  Origin origin;
};

// How the peers authenticate to an external target (peers.psk_file, ...): files and
// identities the user gives, since the harness does not configure that gateway. Explicit
// keys override what sut.config derives. Paths are absolute (resolved against the file).
struct PeerCredentials {
  std::optional<std::filesystem::path> psk_file;  // the secret as swanctl.conf writes it
  std::optional<std::filesystem::path> ca_cert;   // PEM: a CA the gateway trusts ...
  std::optional<std::filesystem::path> ca_key;    // ... and its key; peer certificates issued from it
  std::optional<std::string> id;                  // identity pattern; "{i}" is the peer's index
  std::optional<std::string> remote_id;           // the gateway's identity
  std::vector<std::string> remote_ts;             // the gateway's traffic selectors ("a.b.c.d/n")
};

struct Peers {
  AddressFamily family = AddressFamily::ipv4;
  std::uint64_t count = 1000;
  Engine engine = Engine::charon;
  Auth auth = Auth::psk;
  Arrival arrival;
  SaSettings ike{{"aes128-sha256-x25519"}, std::chrono::hours(8)};
  SaSettings child{{"aes128gcm16"}, std::chrono::hours(1)};
  std::vector<CharonSetting> charon;
  milliseconds deadline_ike{10'000};
  milliseconds deadline_child{5'000};
  std::optional<unsigned> daemons;  // unset: number of cores (see resolved_daemons)
  bool encap = false;                // force UDP encapsulation (NAT-T) on every peer
  StartAction start_action = StartAction::none;  // charon engine only
  // With start_action trap: each started peer sends this many UDP datagrams per second from
  // its inner address through its kernel policy to the SUT's protected address, until it is
  // terminated (0 = only the one trigger datagram). Packets that find no SA are the kernel's
  // to drop or queue: STATUS_IPSEC_QUEUE_OVERFLOW per peer.
  double trap_traffic_per_s = 0;
  bool vips = false;                 // ask the SUT for a virtual IP (charon engine, sut.config pools)
  std::vector<Impairment> impair;    // native engine only
  std::vector<Flood> flood;          // native engine only
  PeerCredentials credentials;       // target only
  // The global index of this run's peer 0: 0, except for one generator of several
  // (scenario/generator.hpp), so identities and seeds do not depend on who drives a peer.
  std::uint64_t first_index = 0;
};

struct SutConfig {
  std::optional<std::filesystem::path> strongswan_conf;  // absolute (resolved against the file)
  std::optional<std::filesystem::path> swanctl_conf;
};

struct Sut {
  std::vector<CharonSetting> charon;
  SaSettings ike{{}, std::chrono::hours(8)};     // no proposals: accept the peers' proposals
  SaSettings child{{}, std::chrono::hours(1)};
  SutConfig config;
  // A live SUT silent this long (no vici answer, no IKE answer, no CPU spent) is unresponsive.
  milliseconds unresponsive_after{30000};
};

struct Link {
  std::optional<std::uint64_t> rate_bits_per_s;  // unset: unlimited
  double loss = 0;                               // fraction 0..1
};

struct Phase {
  enum class Kind { connect, hold, storm, churn, teardown };
  Kind kind = Kind::connect;
  std::optional<Arrival> arrival;  // connect: overrides peers.arrival
  milliseconds duration{0};        // hold, churn (scenario time, unscaled)
  double share = 0;                // storm: fraction of peers that reconnect
  milliseconds within{0};          // storm: window they reconnect in (wall clock)
  double rate_per_s = 0;           // churn: peers leaving and coming back per second
  Origin origin;                   // where the phase was written
};

// Data-plane traffic (top-level `traffic:`), sent through the established peers' CHILD_SAs
// during every hold phase by the native engine (dataplane/data_plane.hpp):
//   traffic: { peers: 10 | 50%, rate: 20/s, size: 200, duration: 10s,
//              faults: { bad_spi: 5, replay: 5, after_expiry: 0 } }
// | key                    | default        | bounds / values                                |
// | traffic.peers          | 100%           | a count (1 .. 1,000,000) or a share of the     |
// |                        |                | peers established when the hold starts         |
// | traffic.rate           | 10/s           | per tunnel, 0 < r <= 1000/s                    |
// | traffic.size           | 200            | inner UDP payload bytes, 18 .. 1400            |
// | traffic.duration       | the whole hold | wall clock (not scaled); capped by each hold,  |
// |                        |                | less a drain for the last echoes               |
// | traffic.faults.KIND    | 0              | packets per hold phase, 0 .. 100,000; KIND one |
// |                        |                | of bad_spi, replay, after_expiry               |
struct TrafficFaults {
  std::uint64_t bad_spi = 0;
  std::uint64_t replay = 0;
  std::uint64_t after_expiry = 0;
};

struct Traffic {
  std::optional<std::uint64_t> peer_count;  // set: this many peers; unset: peer_share of them
  double peer_share = 1.0;
  double rate_per_s = 10;
  std::uint64_t size = 200;
  std::optional<milliseconds> duration;
  TrafficFaults faults;
  Origin origin;  // where `traffic:` was written
};

// An external gateway as the SUT (top-level `target:`): the harness starts no SUT and
// configures nothing on it. The peers sit in a namespace of their own behind a macvlan of
// `interface` holding `local`; they send only to `address` (and its vici port), only from
// `peers` and `local`. Addresses are text in canonical form (checked by the validator).
//   target: { address: 198.18.100.1, interface: eth1, local: 198.18.100.50/24,
//             peers: 198.19.0.0/17, inner: 198.19.128.0/17, vici: tcp://198.18.100.1:4502 }
// peers.arrival against a target when the file writes none (someone's gateway: gently).
inline constexpr double kTargetDefaultArrivalPerS = 100;

struct Target {
  std::string address;                // the gateway's IKE address
  std::string interface;              // the host interface on the gateway's network
  std::string local;                  // "a.b.c.d/n": an unused address on that network
  std::string peers;                  // the peers' IKE addresses; the gateway routes it via local
  std::optional<std::string> inner;   // the peers' inner addresses (TSi); unset: their IKE address
  std::optional<std::string> vici_host;  // vici over TCP: the gateway's own counts and log events
  std::uint16_t vici_port = 0;
  Origin origin;                      // where `target:` was written
};

struct Scenario {
  std::string name = "default";
  std::string description;
  Backend backend = Backend::auto_select;
  double time_scale = 1;
  std::uint64_t seed = 1;
  Peers peers;
  Sut sut;
  Link link;
  std::vector<Phase> phases;
  std::vector<Expectation> expect;  // the implied one when the file has no expect block;
                                    // empty when the file says `expect: {}`
  bool expect_implied = false;      // true when `expect` came from the implied default
  std::optional<Traffic> traffic;   // data-plane traffic in hold phases (native engine only)
  std::optional<Target> target;     // an external gateway instead of the harness's own SUT
};

const char* to_string(Backend b);
const char* to_string(Engine e);
const char* to_string(Auth a);
const char* to_string(AddressFamily f);
const char* to_string(StartAction a);
const char* to_string(Phase::Kind k);

// peers.daemons, or the number of cores when unset (at least 1).
unsigned resolved_daemons(const Scenario& s);

}  // namespace ist::scenario
