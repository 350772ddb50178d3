#pragma once
// One generator's share of a target run (`ikestorm run --generator I/N`): several machines
// drive one gateway, each a block of the peers, and `ikestorm merge` folds their reports.
//
// Generator I (1-based) of N drives peers [(I-1)k, min(Ik, count)) with k = ceil(count / N).
// target.peers (and target.inner) are cut into 2^ceil(log2 N) equal prefixes and generator I
// takes the I-th, so the gateway needs one route per generator whatever the peer count.
// Arrival rates, bursts and ramps are divided by N; storm and churn shares apply within each
// generator. Peer indices stay global (peers.first_index), so identities and per-peer seeds
// are the same whichever generator drives a peer.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "scenario/model.hpp"

namespace ist::scenario {

struct GeneratorSlot {
  std::uint32_t index = 1;  // 1-based
  std::uint32_t count = 1;
  bool operator==(const GeneratorSlot&) const = default;
};

// "I/N" with 1 <= I <= N <= 1024.
Result<GeneratorSlot> parse_generator(std::string_view text);

// What generator `g` drives of `s`: the scenario with peers.count = its block, peers.first_index
// = the block's first global index, target.peers/inner = its prefixes, arrivals divided by N.
// Errors: no target, a block that does not fit its prefix, an arrival that rounds to nothing.
Result<Scenario> generator_share(const Scenario& s, GeneratorSlot g);

// The i-th (0-based) of 2^bits equal parts of an IPv4 or IPv6 prefix ("198.19.0.0/17", 1 bit,
// 1 -> "198.19.64.0/18"; "2001:2:4000::/64", 1 bit, 1 -> "2001:2:4000:0:8000::/65"). Errors when
// the parts would be longer than /32 (/128).
Result<std::string> prefix_part(const std::string& prefix, unsigned bits, std::uint32_t i);

// --start-at: an RFC 3339 UTC instant ("2026-12-07T06:30:00Z", fractions of a second allowed)
// as system time; "+30s" (a duration after `now`) only when `single` (N = 1), since N machines
// cannot agree on a relative start. At most a day after `now`.
Result<std::chrono::system_clock::time_point> parse_start_at(std::string_view text, bool single,
                                                             std::chrono::system_clock::time_point now);

}  // namespace ist::scenario
