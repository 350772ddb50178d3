#pragma once
// IPv4/IPv6 addresses and prefixes as plain values (no libnl objects), so the address plan
// can be computed and tested without privileges.
#include <netinet/in.h>
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

// The addresses of `p` a host may hold, capped at UINT64_MAX: IPv4 without its network and
// broadcast addresses (from /30 up), IPv6 without host 0 (the subnet-router anycast
// address). A target's peer i takes host 1 + i of target.peers.
std::uint64_t host_addresses(const IpPrefix& p);

// "198.18.100.1:500" or "[2001:2::1]:500": an address before a port, bracketed when IPv6 so
// its colons are not read as the port's. `host` is an address as text (IpAddress::str()).
std::string host_port(const std::string& host, unsigned port);
std::string host_port(const IpAddress& a, unsigned port);

// `a`:`port` as a socket address of a's family; returns its length.
socklen_t to_sockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& out);
// The address of an AF_INET or AF_INET6 socket address (its port dropped).
IpAddress from_sockaddr(const sockaddr_storage& s);

// True for an IPv6 link-local address (fe80::/10): no network a gateway is reached on, but a
// next hop on the link.
bool is_link_local(const IpAddress& a);

// True for addresses the harness may use: 198.18.0.0/15 and 2001:2::/48 (docs/design.md).
bool in_harness_range(const IpAddress& a);

}  // namespace ist::netns
