#pragma once
// The typed scenario: what one run does. Produced only by validation (scenario/load.hpp), so
// every field holds a checked value. See DESIGN.md "Scenario files (contract)".
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
// | peers.count                  | 1000                     | 1 .. 1,000,000                       |
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
//
// time_scale divides lifetimes (rekey/reauth/life/over/rand) and hold/churn durations; not
// arrival/churn rates, storm windows, deadlines or charon's retransmit timers.
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
};

// strongswan.conf charon.* settings, flattened: key "plugins.kernel-netlink.mtu".
struct CharonSetting {
  std::string key;
  std::string value;
  bool operator==(const CharonSetting&) const = default;
};

struct Peers {
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
};

const char* to_string(Backend b);
const char* to_string(Engine e);
const char* to_string(Auth a);
const char* to_string(Phase::Kind k);

// peers.daemons, or the number of cores when unset (at least 1).
unsigned resolved_daemons(const Scenario& s);

}  // namespace ist::scenario
