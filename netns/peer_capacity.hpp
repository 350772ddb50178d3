#pragma once
// How many peers the address plan (address_plan.hpp) can give addresses to, per family.
// Header-only and free of rtnetlink, so the scenario validator refuses a peers.count the
// topology could not build, with its file:line:col, before anything is created.
#include <cstddef>

namespace ist::netns {

enum class Family { v4, v6 };

// IPv4: peer i is 198.19.0.1 + i inside 198.19.0.0/17, so 198.19.0.1 .. 198.19.127.255.
inline constexpr std::size_t kMaxPeersV4 = 32767;

// IPv6: peer i is 2001:2:0:2::1 + i (IKE) and 2001:2:0:3::1 + i (inner), two /64s, and an
// IPv6 run's peers hold IPv6 addresses only (TopologySpec::peer_family). The /64s would hold
// far more; the bound is what the harness builds and measures: 131,072 peers, 262,144 host
// addresses on 256 holder bridges in the peers namespace.
inline constexpr std::size_t kMaxPeersV6 = 131072;

// The family is the peers' own: a dual-stack topology (IPv4 peers that also get IPv6
// addresses) is bounded by IPv4.
constexpr std::size_t peer_capacity(Family f) {
  switch (f) {
    case Family::v4: return kMaxPeersV4;
    case Family::v6: return kMaxPeersV6;
  }
  return kMaxPeersV4;
}

}  // namespace ist::netns
