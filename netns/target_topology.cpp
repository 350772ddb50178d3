// The topology for an external gateway (TopologySpec::target): one peers namespace that
// reaches the gateway through a macvlan of a host interface (see topology.hpp's picture).
//
// Only `local` needs a neighbour entry on the gateway's side: the gateway routes the peers'
// prefix via `local`, and ARP requests from the peers namespace name `local` as sender
// (arp_announce=2), never a peer address. rp_filter is off there (packets from the peers'
// prefix leave by a link that holds none of it) and ip_forward is off (packets for peer
// addresses nobody holds are dropped without ICMP: the native engine's packet layer takes
// them first). Over IPv6 the same holds with neighbour discovery: the namespace has no DAD
// (every address, `local` and the macvlan's link-local one, is usable at once), no router
// advertisements and no forwarding (Topology::namespace_sysctls).
#include <chrono>
#include <utility>

#include "netns/privileges.hpp"
#include "netns/rtnl.hpp"
#include "netns/sysctl.hpp"
#include "netns/topology.hpp"

namespace ist::netns {

namespace {

bool overlaps(const IpPrefix& a, const IpPrefix& b) { return a.contains(b.address) || b.contains(a.address); }


}  // namespace

Status validate(const TargetNetwork& t, std::size_t peer_count) {
  // One family throughout (the scenario validator refused a mix at its key).
  const int family = t.address.family;
  for (const IpAddress* a : {&t.local.address, &t.peers.address, t.inner ? &t.inner->address : nullptr,
                             t.via ? &*t.via : nullptr})
    if (a != nullptr && a->family != family)
      return Error("target: the addresses are of two families (target.address " + t.address.str() +
                   "); a target is reached over IPv4 or over IPv6");
  if (t.interface.empty() || t.interface.size() > 15) return Error("target.interface: not an interface name");
  if (t.local.address == t.address) return Error("target.local is the gateway's own address");
  const IpPrefix local_net = t.local.network();
  const bool on_link = local_net.contains(t.address);
  if (!on_link && !t.via) return Error("target.address " + t.address.str() + " is not on " + local_net.str() +
                                       " and no next hop was given to reach it");
  // An IPv6 router is often named by its link-local address (the host's route learnt it so):
  // that is on the macvlan's link too, since the macvlan shares the interface's segment.
  if (t.via && !local_net.contains(*t.via) && !is_link_local(*t.via))
    return Error("the next hop " + t.via->str() + " is not on target.local's network " + local_net.str());
  std::vector<std::pair<const IpPrefix*, const char*>> prefixes{{&t.peers, "target.peers"}};
  if (t.inner) prefixes.push_back({&*t.inner, "target.inner"});
  for (auto [p, key] : prefixes) {
    if (host_addresses(*p) < peer_count)
      return Error(std::string(key) + " " + p->str() + " holds fewer than " + std::to_string(peer_count) +
                   " addresses");
    if (overlaps(*p, local_net)) return Error(std::string(key) + " " + p->str() + " overlaps " + local_net.str());
    if (p->contains(t.address)) return Error(std::string(key) + " " + p->str() + " holds the gateway's address");
  }
  if (t.inner && overlaps(t.peers, *t.inner)) return Error("target.peers and target.inner overlap");
  return ok();
}

Status Topology::build_target(RunState& state) {
  const TargetNetwork& t = *spec_.target;
  peers_link_ = link_name(run_id_, "mv");
  // Before the namespace exists: the parent link must be here, in the namespace we run in.
  IST_TRY_ASSIGN(NlSocket host_sock, NlSocket::open(0));
  auto parent = link_index(host_sock, t.interface);
  if (!parent) return Error("target.interface " + t.interface + ": no such link here: " + parent.error().describe());

  IST_TRY_ASSIGN(peers_, Namespace::create(state, spec_.peers_role));
  std::vector<std::string> skipped;
  IST_TRY(peers_.run_in([&] { return write_sysctls(namespace_sysctls(spec_, false), &skipped); }));
  skipped_sysctls_ = std::move(skipped);

  if (spec_.peer_addresses) {
    const auto t0 = std::chrono::steady_clock::now();
    IST_TRY(build_peer_addresses());
    timings_.addresses_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  IST_TRY(create_macvlan(host_sock, *parent, peers_link_, peers_.fd()));
  IST_TRY_ASSIGN(NlSocket peers_sock, peers_.open_netlink());
  IST_TRY_ASSIGN(int mv, link_index(peers_sock, peers_link_));
  if (t.address.family == AF_INET6) {
    // A fresh macvlan has a fresh MAC, but the gateway may still hold `local` at the last
    // run's. IPv4 mends that with the ARP requests sent from `local` (arp_announce=2); IPv6's
    // neighbour solicitations leave from the link-local address and mend nothing, so the
    // macvlan announces `local` once it is up (an unsolicited neighbour advertisement).
    IST_TRY(peers_.run_in([&] { return write_sysctls({{"net.ipv6.conf." + peers_link_ + ".ndisc_notify", "1"}}); }));
  }
  IST_TRY(set_link_up(peers_sock, 1));  // lo
  IST_TRY(add_addresses(peers_sock, mv, {t.local}, AddressOptions{.user_given = true}));
  IST_TRY(set_link_up(peers_sock, mv));
  // On local's network the prefix route reaches the gateway; elsewhere the host's next hop.
  if (t.via)
    IST_TRY(add_route(peers_sock, IpPrefix{t.address, static_cast<int>(t.address.size() * 8)}, *t.via, mv,
                      /*user_given=*/true));
  return ok();
}

}  // namespace ist::netns
