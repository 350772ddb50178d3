#pragma once
// IPv4/IPv6 addresses and prefixes as plain values (no libnl objects), so the address plan
// can be computed and tested without privileges.
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ist::netns {

struct IpAddress {
  int family = AF_INET;                 // AF_INET or AF_INET6
  std::array<std::uint8_t, 16> bytes{}; // network order; first 4 used for AF_INET

  static Result<IpAddress> parse(std::string_view text);
  static IpAddress v4(std::uint32_t host_order);
  std::size_t size() const { return family == AF_INET ? 4 : 16; }
  std::uint32_t v4_host_order() const;  // AF_INET only
  // The address `n` above this one (carries across bytes; wraps silently past the top).
  IpAddress plus(std::uint64_t n) const;
  std::string str() const;
  bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
  IpAddress address;
  int length = 32;

  static Result<IpPrefix> parse(std::string_view text);  // "198.18.0.1/30"
  bool contains(const IpAddress& a) const;
  IpPrefix network() const;  // the host bits cleared: 198.18.100.50/24 -> 198.18.100.0/24
  bool overlaps(const IpPrefix& other) const;  // one holds the other's first address
  std::string str() const;  // "198.18.0.1/30"
  bool operator==(const IpPrefix&) const = default;
};

// True for addresses the harness may use: 198.18.0.0/15 and 2001:2::/48 (docs/design.md).
bool in_harness_range(const IpAddress& a);

}  // namespace ist::netns
