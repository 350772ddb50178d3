#pragma once
// The harness's private network, described as data and built in one call:
//
//   ist-<runid>-sut                                ist-<runid>-peers
//   lo: 198.18.255.1/24 (noprefixroute)            bridges ist<runid>h0..: 198.19.0.1.. (IKE),
//                                                  198.19.128.1.. (inner), /32 each
//   ist<runid>sut 198.18.0.1/30  <---- veth ---->  ist<runid>peer 198.18.0.2/30
//   198.19.0.0/16 via 198.18.0.2                   198.18.0.0/16 via 198.18.0.1
//   tbf (rate), nft table ist_<runid> (loss)       tbf (rate)
//
// The veth pair is created from inside the SUT namespace with its peer end born in the peers
// namespace, so no link of the topology ever exists in the host namespace; the namespaces
// are journaled before they exist, so `ikestorm clean` removes them after a SIGKILL. A failed
// build rolls back what it made; teardown() (or the destructor) removes everything.
//
// With spec.target (an external gateway, target_topology.cpp) there is no SUT namespace:
//
//   the namespace ikestorm runs in (the generator host)      ist-<runid>-peers
//   <interface> (the host's, untouched)  <---- macvlan ---->  ist<runid>mv: local (e.g. 198.18.100.50/24)
//                                                             address/32 via <via> when off-link
//                                                             peers' IKE (and inner) addresses on holders,
//                                                             or none (a packet layer owns the prefix)
//
// The macvlan is born inside the peers namespace (IFLA_NET_NS_FD), so no link of the run
// ever exists in the host namespace and removing the namespace removes it.
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/run_state.hpp"
#include "netns/address_plan.hpp"
#include "netns/impairment.hpp"
#include "netns/namespace.hpp"
#include "netns/sysctl.hpp"

namespace ist::netns {

// An external gateway reached through a host interface (target:). The addresses are the
// user's: the scenario validator and the host checks judged them before a build.
struct TargetNetwork {
  std::string interface;          // the host link the macvlan is made from
  IpPrefix local;                 // the macvlan's address, with its network's prefix length
  IpAddress address;              // the gateway's IKE address
  std::optional<IpAddress> via;   // next hop to `address` when it lies outside `local`'s network
  IpPrefix peers;                 // peer i's IKE address is this prefix's host 1 + i
  std::optional<IpPrefix> inner;  // peer i's inner address likewise; unset: its IKE address
};

struct TopologySpec {
  std::size_t peer_count = 1;          // <= peer_capacity(peer_family)
  // The family of the peers' own addresses and of the SUT address they talk to. v6: the
  // peers hold IPv6 addresses only (2001:2:0:2::1 + i, 2001:2:0:3::1 + i) and the IPv6 plan
  // is built; the link keeps its IPv4 addresses too (nothing of the run uses them).
  Family peer_family = Family::v4;
  bool ipv6 = false;                   // v4 peers: also build the IPv6 plan (dual stack)
  unsigned mtu = 1500;
  LinkImpairment link;                 // rate and loss between peers and SUT
  std::size_t socket_buffer_bytes = 8u << 20;  // net.core.{r,w}mem_max per namespace
  std::size_t socket_buffer_default = 4u << 20;  // net.core.{r,w}mem_default (charon's sockets)
  // false: the peers namespace gets no address per peer (no holder bridges): the SUT still
  // routes 198.19.0.0/16 to it, where a packet layer that reads and writes the routed prefix
  // itself (the native engine's RawPrefixIo) is the only taker; the kernel there drops those
  // packets silently (ip_forward=0: no forwarding, no ICMP).
  bool peer_addresses = true;
  std::optional<TargetNetwork> target;  // set: the target topology (no SUT namespace, no veth)
  std::string sut_role = "sut";
  std::string peers_role = "peers";
};

struct BuildTimings {
  double namespaces_s = 0;  // both namespaces and their sysctls
  double link_s = 0;        // veth pair, link addresses, routes, impairments
  double addresses_s = 0;   // the peers' bulk addresses
  double total_s = 0;
};

class Topology {
 public:
  // `state` must outlive the Topology and stay where it is.
  static Result<Topology> build(RunState& state, const TopologySpec& spec);

  Topology() = default;
  ~Topology();
  Topology(Topology&&) noexcept = default;
  Topology& operator=(Topology&&) noexcept = default;

  // Removes both namespaces (and with them the link, addresses, qdiscs, nft table).
  // Idempotent; the first error is returned but every step is attempted.
  Status teardown();
  bool built() const { return sut_.valid() || peers_.valid(); }

  const TopologySpec& spec() const { return spec_; }
  const Namespace& sut_ns() const { return sut_; }  // not valid() with spec().target
  const Namespace& peers_ns() const { return peers_; }
  const std::string& sut_link() const { return sut_link_; }      // ifname in the SUT ns
  const std::string& peers_link() const { return peers_link_; }  // ifname in the peers ns (target: the macvlan)
  const std::string& nft_table() const { return nft_table_; }    // in the SUT ns
  // The peers' addresses live on port-less bridges ist<runid>h0, h1, ... in the peers ns
  // (this kernel has no dummy links), at most kAddressesPerHolder each: IKE addresses
  // first, then inner ones, of the run's family; then a dual-stack spec's IPv6 ones.
  static constexpr std::size_t kAddressesPerHolder = 1024;
  const std::vector<std::string>& address_holders() const { return holders_; }
  std::string peer_address_link(std::size_t i) const;  // holder of peer i's IKE address (family())

  // The run's family (spec().peer_family): the accessors without a family argument use it.
  Family family() const { return spec_.peer_family; }
  // The families whose plan is built: the peers' own, and v6 too for a dual-stack spec.
  bool has_family(Family f) const { return f == spec_.peer_family || (f == Family::v6 && spec_.ipv6); }

  // The gateway's IKE address: target.address with spec().target.
  IpAddress sut_ike_address() const { return sut_ike_address(family()); }
  IpAddress sut_ike_address(Family f) const {
    return spec_.target ? spec_.target->address : AddressPlan::sut_link(f).address;
  }
  IpPrefix sut_subnet() const { return sut_subnet(family()); }
  IpPrefix sut_subnet(Family f) const { return AddressPlan::sut_subnet(f); }
  IpAddress sut_subnet_address() const { return sut_subnet_address(family()); }
  IpAddress sut_subnet_address(Family f) const { return AddressPlan::sut_subnet_address(f); }
  // Peer i's addresses, 0 <= i < spec().peer_count, of a family has_family() holds.
  // The prefix the peers' IKE addresses are taken from (target.peers with spec().target).
  IpPrefix peer_ike_range() const {
    return spec_.target ? spec_.target->peers : AddressPlan::peer_ike_range(family());
  }
  // The prefix of the peers' inner addresses (target.inner, else target.peers, with spec().target).
  IpPrefix peer_inner_range() const {
    if (!spec_.target) return AddressPlan::peer_inner_range(family());
    return spec_.target->inner ? *spec_.target->inner : spec_.target->peers;
  }
  // With spec().target: host 1 + i of target.peers (and of target.inner, else the IKE address).
  IpAddress peer_ike_address(std::size_t i) const { return peer_ike_address(i, family()); }
  IpAddress peer_ike_address(std::size_t i, Family f) const {
    return spec_.target ? spec_.target->peers.address.plus(1 + i) : AddressPlan::peer_ike_address(i, f);
  }
  IpAddress peer_inner_address(std::size_t i) const { return peer_inner_address(i, family()); }
  IpAddress peer_inner_address(std::size_t i, Family f) const {
    if (!spec_.target) return AddressPlan::peer_inner_address(i, f);
    return spec_.target->inner ? spec_.target->inner->address.plus(1 + i) : peer_ike_address(i);
  }
  const BuildTimings& timings() const { return timings_; }
  // Optional sysctls this kernel would not let a namespace set (e.g. net.core.rmem_max).
  const std::vector<std::string>& skipped_sysctls() const { return skipped_sysctls_; }

  // Replaces the link's rate limit and loss rules (both may be changed mid-run).
  Status set_link(const LinkImpairment& imp);

 private:
  Status build_namespaces(RunState& state);
  Status build_link();
  Status build_peer_addresses();
  Status build_target(RunState& state);  // target_topology.cpp
  // The sysctls a fresh namespace gets before any link exists (sut: the forwarding side).
  static std::vector<Sysctl> namespace_sysctls(const TopologySpec& spec, bool sut);

  TopologySpec spec_;
  Namespace sut_;
  Namespace peers_;
  std::string run_id_, sut_link_, peers_link_, nft_table_;
  std::vector<std::string> holders_;
  BuildTimings timings_;
  std::vector<std::string> skipped_sysctls_;
};

Status validate(const TopologySpec& spec);
// What a target topology needs that the spec alone can tell (target_topology.cpp): the next
// hop when the gateway is off-link, addresses apart from each other, prefixes that hold the
// peers.
Status validate(const TargetNetwork& target, std::size_t peer_count);

}  // namespace ist::netns
