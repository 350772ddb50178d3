#pragma once
// Host checks for an external target (target:), before anything is created: reads the
// network namespace ikestorm runs in (the generator host) over rtnetlink and says what in
// the scenario's target does not fit it. `validate` and `run` both call it, so validate
// refuses whatever run would refuse.
//
// Refused: target.interface missing or down; target.local outside the interface's connected
// prefix, or one of the host's addresses; target.address one of the host's addresses,
// unreachable, or reached through another interface; target.peers / target.inner overlapping
// a host address or a host route. Reachability is a route lookup (RTM_GETROUTE), never a
// packet.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/ip_address.hpp"

namespace ist::netns {

struct TargetNetwork;  // netns/topology.hpp

// The IPv4 and IPv6 state of one network namespace as rtnetlink dumps it.
struct HostNetwork {
  struct Link {
    int index = 0;
    std::string name;
    bool up = false;  // IFF_UP
  };
  struct Address {
    int ifindex = 0;
    IpPrefix prefix;  // the address with its prefix length (198.18.100.10/24, 2001:2:100::10/64)
  };
  struct Route {
    IpPrefix dst;     // 0.0.0.0/0 or ::/0 for a default route
    int oif = 0;      // 0 when the route has no single output interface
    uint8_t table = 0;
    uint8_t type = 0; // RTN_UNICAST, RTN_LOCAL, RTN_BLACKHOLE, ...
  };
  std::vector<Link> links;
  std::vector<Address> addresses;  // IPv4 and IPv6 (link-local ones too)
  std::vector<Route> routes;       // IPv4 and IPv6, every table but `local`, no multicast

  const Link* link(const std::string& name) const;
  const Link* link(int index) const;
};

// The kernel's answer to "how would a packet to ADDRESS leave?" (RTM_GETROUTE).
struct RouteLookup {
  int oif = 0;
  uint8_t type = 0;                  // RTN_UNICAST, RTN_LOCAL, ...
  std::optional<IpAddress> gateway;  // the next hop when the route has one
};

// The calling thread's namespace.
Result<HostNetwork> read_host_network();
// Errors carry the kernel's errno: ENETUNREACH (no route), EHOSTUNREACH (an unreachable
// route), EACCES (prohibit), EINVAL (blackhole).
Result<RouteLookup> lookup_route(const IpAddress& destination);

// The calling thread's namespace's neighbour entry for an IPv4 or IPv6 address: its NUD_*
// state, or 0 when there is none.
Result<uint16_t> neighbour_state(const IpAddress& address);
// A neighbour state that means the address answered ARP or neighbour discovery (reachable,
// stale, delay, probe, permanent).
bool neighbour_resolved(uint16_t nud_state);

struct TargetHostCheck {
  std::vector<std::string> problems;  // one sentence each; empty: the host fits the target
  std::optional<IpAddress> via;       // next hop to target.address when it is off-link
};

// The judgement alone, on what was read (unit-tested with made-up hosts).
TargetHostCheck check_target_host(const TargetNetwork& target, const HostNetwork& host,
                                  const Result<RouteLookup>& route_to_target);
// Reads this namespace and judges; a failure to read is itself a problem.
TargetHostCheck check_target_host(const TargetNetwork& target);

}  // namespace ist::netns
