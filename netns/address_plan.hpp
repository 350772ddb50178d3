#pragma once
// The harness's address plan (docs/design.md, "Address plan"), in one place.
//
//   what                       IPv4                        IPv6 (optional)
//   SUT end of the link        198.18.0.1/30  (SUT IKE)    2001:2::1/64
//   peers end of the link      198.18.0.2/30               2001:2::2/64
//   SUT protected subnet       198.18.255.0/24, .1 on the  2001:2:0:ff::/64, ::1 on the
//                              SUT's lo (no prefix route)  SUT's lo (no prefix route)
//   peer i IKE address         198.19.0.1 + i  /32         2001:2:0:2::1 + i /128
//   peer i inner address       198.19.128.1 + i /32        2001:2:0:3::1 + i /128
//
// Peer addresses are host addresses (/32, /128) in the peers namespace, on port-less
// bridges ist<runid>h0, h1, ... of at most 1,024 addresses each (this kernel has no dummy
// links, and the kernel's per-device address list makes one device holding 20,000 addresses
// ten times slower to fill). The SUT reaches them by one route per prefix via the peers'
// link address (198.19.0.0/16 via 198.18.0.2), and the peers reach the SUT side by
// 198.18.0.0/16 via 198.18.0.1, so each side holds exactly one neighbour entry whatever the
// peer count (with arp_announce=2, ARP requests carry the link address, not a peer's), and
// packets keep their source addresses end to end (no NAT, rp_filter off). IPv6 likewise:
// 2001:2:0:2::/63 via 2001:2::2 on the SUT, 2001:2:0:80::/57 via 2001:2::1 on the peers.
#include <cstddef>

#include "netns/ip_address.hpp"
#include "netns/peer_capacity.hpp"

namespace ist::netns {

struct AddressPlan {
  // 198.19.0.1 .. 198.19.127.255 holds 32,767 host addresses (peer_capacity.hpp).
  static constexpr std::size_t max_peers = peer_capacity(Family::v4);

  static IpPrefix sut_link(Family f);         // SUT end, with the link's prefix length
  static IpPrefix peers_link(Family f);       // peers end
  static IpPrefix sut_subnet(Family f);       // 198.18.255.0/24
  static IpAddress sut_subnet_address(Family f);  // 198.18.255.1
  static IpPrefix peer_ike_range(Family f);   // 198.19.0.0/17
  static IpPrefix peer_inner_range(Family f); // 198.19.128.0/17
  static IpAddress peer_ike_address(std::size_t i, Family f = Family::v4);
  static IpAddress peer_inner_address(std::size_t i, Family f = Family::v4);
  // Destinations the SUT routes via the peers (and the peers via the SUT).
  static IpPrefix sut_side_route(Family f);    // 198.18.0.0/16, on the peers' side
  static IpPrefix peers_side_route(Family f);  // 198.19.0.0/16, on the SUT's side
  static int host_prefix_length(Family f) { return f == Family::v4 ? 32 : 128; }
};

}  // namespace ist::netns
