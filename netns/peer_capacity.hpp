#pragma once
// How many peers the address plan (address_plan.hpp) can give addresses to, per family.
// Header-only and free of rtnetlink, so the scenario validator refuses a peers.count the
// topology could not build, with its file:line:col, before anything is created.
#include <cstddef>

namespace ist::netns {

enum class Family { v4, v6 };

// IPv4: peer i is 198.19.0.1 + i inside 198.19.0.0/17, so 198.19.0.1 .. 198.19.127.255.
inline constexpr std::size_t kMaxPeersV4 = 32767;

// The topology gives every peer its IPv4 addresses even when it adds IPv6 ones, so IPv4
// bounds both families until IPv6-only peers exist.
constexpr std::size_t peer_capacity(Family f) {
  switch (f) {
    case Family::v4:
    case Family::v6: return kMaxPeersV4;
  }
  return kMaxPeersV4;
}

}  // namespace ist::netns
