#include "netns/topology.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "common/log.hpp"
#include "netns/privileges.hpp"
#include "netns/rtnl.hpp"
#include "netns/sysctl.hpp"

namespace ist::netns {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr int kLoopbackIndex = 1;  // lo is always ifindex 1 in a fresh namespace

}  // namespace

std::vector<Sysctl> Topology::namespace_sysctls(const TopologySpec& spec, bool sut) {
  const std::string buf = std::to_string(spec.socket_buffer_bytes);
  const std::string def = std::to_string(spec.socket_buffer_default);
  std::vector<Sysctl> list = {
      // Source addresses must survive end to end: no reverse-path filtering anywhere.
      {"net.ipv4.conf.all.rp_filter", "0"},
      {"net.ipv4.conf.default.rp_filter", "0"},
      {"net.ipv4.conf.lo.rp_filter", "0"},
      // ARP requests name the link address as sender, not whichever peer address the
      // triggering packet had: otherwise the SUT learns a neighbour entry per peer.
      {"net.ipv4.conf.all.arp_announce", "2"},
      {"net.ipv4.conf.default.arp_announce", "2"},
      // IKE bursts overflow default UDP buffers (RcvbufErrors). These are global and
      // read-only inside namespaces on this kernel (6.x), and the host's are not ours to
      // change: skipped there and reported; sockets can still use SO_RCVBUFFORCE.
      {"net.core.rmem_max", buf, true},
      {"net.core.wmem_max", buf, true},
      {"net.core.rmem_default", def, true},
      {"net.core.wmem_default", def, true},
      // The neighbour table is global on current kernels (no per-namespace gc_thresh): the
      // routed design keeps one neighbour per side instead. Written where a kernel has them.
      {"net.ipv4.neigh.default.gc_thresh1", "4096", true},
      {"net.ipv4.neigh.default.gc_thresh2", "32768", true},
      {"net.ipv4.neigh.default.gc_thresh3", "65536", true},
  };
  // A gateway forwards to its subnet; the peers side never forwards (new namespaces may
  // inherit the host's setting), so packets to peer addresses it does not hold are dropped
  // without an ICMP error.
  list.push_back({"net.ipv4.ip_forward", sut ? "1" : "0"});
  if (spec.ipv6 || spec.peer_family == Family::v6) {
    // No duplicate address detection: every address is ours and usable at once (with DAD, a
    // fresh address is tentative for a second and charon cannot bind it; the addresses are
    // also added with IFA_F_NODAD). Written before any link exists, so links inherit them.
    list.push_back({"net.ipv6.conf.all.disable_ipv6", "0"});
    list.push_back({"net.ipv6.conf.default.disable_ipv6", "0"});
    list.push_back({"net.ipv6.conf.all.accept_dad", "0"});
    list.push_back({"net.ipv6.conf.default.accept_dad", "0"});
    // Router advertisements and solicitations have no business on the harness's links.
    list.push_back({"net.ipv6.conf.all.accept_ra", "0"});
    list.push_back({"net.ipv6.conf.default.accept_ra", "0"});
    list.push_back({"net.ipv6.conf.default.router_solicitations", "0"});
    list.push_back({"net.ipv6.neigh.default.gc_thresh1", "4096", true});
    list.push_back({"net.ipv6.neigh.default.gc_thresh2", "32768", true});
    list.push_back({"net.ipv6.neigh.default.gc_thresh3", "65536", true});
    list.push_back({"net.ipv6.conf.all.forwarding", sut ? "1" : "0"});
  }
  return list;
}

Status validate(const TopologySpec& spec) {
  // A dual-stack spec gives every peer IPv4 addresses too: IPv4 bounds it.
  const std::size_t cap = peer_capacity(spec.ipv6 ? Family::v4 : spec.peer_family);
  if (spec.peer_count > cap)
    return Error("at most " + std::to_string(cap) + " peers fit the address plan (asked for " +
                 std::to_string(spec.peer_count) + ")");
  if (spec.sut_role == spec.peers_role) return Error("the SUT and peers namespaces need different roles");
  if (!is_valid_role(spec.sut_role) || !is_valid_role(spec.peers_role))
    return Error("namespace roles are 1-16 characters of a-z, 0-9");
  if (spec.mtu < 1280 || spec.mtu > 9000) return Error("link MTU must be between 1280 and 9000");
  if (spec.target) {
    if (spec.ipv6) return Error("a target topology is of one family (peer_family), not dual stack");
    if (spec.target->address.family != (spec.peer_family == Family::v6 ? AF_INET6 : AF_INET))
      return Error("target.address " + spec.target->address.str() + " is not of the topology's peer_family");
    if (spec.link.shapes() || spec.link.drops()) return Error("link rate and loss do not apply to a target");
    return validate(*spec.target, spec.peer_count);
  }
  return validate(spec.link);
}

Result<Topology> Topology::build(RunState& state, const TopologySpec& spec) {
  IST_TRY(validate(spec));
  IST_TRY(check_privileges());
  const auto t0 = Clock::now();
  Topology t;  // on any error below, its destructor removes what was built
  t.spec_ = spec;
  t.sut_link_ = link_name(state.run_id(), "sut");
  t.peers_link_ = link_name(state.run_id(), "peer");
  t.nft_table_ = nft_table_name(state.run_id());
  t.run_id_ = state.run_id();
  if (spec.target) {
    if (auto st = t.build_target(state); !st) return std::move(st).error().wrap("building the target topology");
    t.timings_.total_s = since(t0);
    return t;
  }

  auto step = Clock::now();
  if (auto st = t.build_namespaces(state); !st) return std::move(st).error().wrap("building the topology");
  t.timings_.namespaces_s = since(step);
  // Bulk addresses first, on holder links that are still down (see build_peer_addresses).
  step = Clock::now();
  if (spec.peer_addresses) {
    if (auto st = t.build_peer_addresses(); !st) return std::move(st).error().wrap("building the topology");
  }
  t.timings_.addresses_s = since(step);
  step = Clock::now();
  if (auto st = t.build_link(); !st) return std::move(st).error().wrap("building the topology");
  t.timings_.link_s = since(step);
  t.timings_.total_s = since(t0);
  return t;
}

Status Topology::build_namespaces(RunState& state) {
  IST_TRY_ASSIGN(sut_, Namespace::create(state, spec_.sut_role));
  IST_TRY_ASSIGN(peers_, Namespace::create(state, spec_.peers_role));
  // Before any link exists, so new links inherit conf.default.*.
  std::vector<std::string> sut_skipped, peers_skipped;
  IST_TRY(sut_.run_in([&] { return write_sysctls(namespace_sysctls(spec_, true), &sut_skipped); }));
  IST_TRY(peers_.run_in([&] { return write_sysctls(namespace_sysctls(spec_, false), &peers_skipped); }));
  skipped_sysctls_ = sut_skipped;  // the lists differ only in the SUT's forwarding keys
  for (auto& k : peers_skipped)
    if (std::find(skipped_sysctls_.begin(), skipped_sysctls_.end(), k) == skipped_sysctls_.end())
      skipped_sysctls_.push_back(k);
  return ok();
}

Status Topology::build_link() {
  IST_TRY_ASSIGN(NlSocket sut_sock, sut_.open_netlink());
  IST_TRY_ASSIGN(NlSocket peers_sock, peers_.open_netlink());
  IST_TRY(create_veth_pair(sut_sock, sut_link_, peers_link_, peers_.fd(), spec_.mtu));
  IST_TRY_ASSIGN(int sut_if, link_index(sut_sock, sut_link_));
  IST_TRY_ASSIGN(int peers_if, link_index(peers_sock, peers_link_));
  for (auto [sock, ifindex] : {std::pair{&sut_sock, kLoopbackIndex}, std::pair{&sut_sock, sut_if},
                               std::pair{&peers_sock, kLoopbackIndex}, std::pair{&peers_sock, peers_if}})
    IST_TRY(set_link_up(*sock, ifindex));

  // The IPv4 link always: an IPv6 run's link carries both (nothing uses the IPv4 one).
  std::vector<Family> families{Family::v4};
  if (has_family(Family::v6)) families.push_back(Family::v6);
  for (Family f : families) {
    IST_TRY(add_addresses(sut_sock, sut_if, {AddressPlan::sut_link(f)}));
    IST_TRY(add_addresses(peers_sock, peers_if, {AddressPlan::peers_link(f)}));
    // The protected subnet's own address: its prefix length for the traffic selector, but
    // no prefix route (the rest of the subnet is not on lo).
    IpPrefix subnet_addr{AddressPlan::sut_subnet_address(f), AddressPlan::sut_subnet(f).length};
    IST_TRY(add_addresses(sut_sock, kLoopbackIndex, {subnet_addr}, AddressOptions{.no_prefix_route = true}));
    IST_TRY(add_route(sut_sock, AddressPlan::peers_side_route(f), AddressPlan::peers_link(f).address, sut_if));
    IST_TRY(add_route(peers_sock, AddressPlan::sut_side_route(f), AddressPlan::sut_link(f).address, peers_if));
  }
  // A fresh link has no qdisc and no nft table: only install what the spec asks for.
  if (spec_.link.shapes() || spec_.link.drops()) IST_TRY(set_link(spec_.link));
  return ok();
}

Status Topology::build_peer_addresses() {
  IST_TRY_ASSIGN(NlSocket peers_sock, peers_.open_netlink());
  std::vector<IpPrefix> addrs;
  std::vector<Family> families{family()};
  if (spec_.ipv6 && family() == Family::v4) families.push_back(Family::v6);
  for (Family f : families) {
    const int len = AddressPlan::host_prefix_length(f);
    for (std::size_t i = 0; i < spec_.peer_count; ++i) addrs.push_back({peer_ike_address(i, f), len});
    // A target without target.inner: the inner address is the IKE address, held once.
    if (spec_.target && !spec_.target->inner) continue;
    for (std::size_t i = 0; i < spec_.peer_count; ++i) addrs.push_back({peer_inner_address(i, f), len});
  }
  // The kernel walks a device's whole address list (and, for an up device, every route on
  // it: fib_sync_up) for each address added, quadratic in the count: spread the addresses
  // over port-less bridges of at most kAddressesPerHolder each, filled while down and
  // brought up at the end (20,000 on one up lo: 5.1 s; this way: ~0.5 s).
  RtnlBatch batch(peers_sock);
  std::vector<int> holder_ifs;
  // An IPv6 /128 gets a prefix route of its own besides its local one (an IPv4 /32 does not):
  // none for an IPv6 run's peers (a target's too), a third less kernel work (16,384 peers:
  // 39 s -> 27 s).
  const bool v6_only = family() == Family::v6;
  for (std::size_t first = 0; first < addrs.size(); first += kAddressesPerHolder) {
    const std::string name = link_name(run_id_, "h" + std::to_string(holder_ifs.size()));
    IST_TRY(create_simple_link(peers_sock, name, "bridge"));
    IST_TRY_ASSIGN(int ifindex, link_index(peers_sock, name));
    holders_.push_back(name);
    holder_ifs.push_back(ifindex);
    const std::size_t last = std::min(addrs.size(), first + kAddressesPerHolder);
    IST_TRY(add_addresses(batch, ifindex,
                          {addrs.begin() + static_cast<std::ptrdiff_t>(first),
                           addrs.begin() + static_cast<std::ptrdiff_t>(last)},
                          AddressOptions{.no_prefix_route = v6_only, .user_given = spec_.target.has_value()}));
  }
  IST_TRY(batch.flush());
  for (int ifindex : holder_ifs) IST_TRY(set_link_up(peers_sock, ifindex));
  return ok();
}

std::string Topology::peer_address_link(std::size_t i) const {
  const std::size_t index = i / kAddressesPerHolder;  // IKE addresses fill the first holders
  return index < holders_.size() ? holders_[index] : std::string();
}

Status Topology::set_link(const LinkImpairment& imp) {
  IST_TRY(validate(imp));
  if (!sut_.valid() || !peers_.valid()) return Error("the topology is not built");
  IST_TRY_ASSIGN(NlSocket sut_sock, sut_.open_netlink());
  IST_TRY_ASSIGN(NlSocket peers_sock, peers_.open_netlink());
  IST_TRY_ASSIGN(int sut_if, link_index(sut_sock, sut_link_));
  IST_TRY_ASSIGN(int peers_if, link_index(peers_sock, peers_link_));
  IST_TRY(apply_tbf(sut_sock, sut_if, imp.rate_bits_per_s, spec_.mtu));
  IST_TRY(apply_tbf(peers_sock, peers_if, imp.rate_bits_per_s, spec_.mtu));
  IST_TRY(run_nft(sut_, nft_loss_script(nft_table_, sut_link_, imp)));
  spec_.link = imp;
  return ok();
}

Status Topology::teardown() {
  Status first;
  for (Namespace* ns : {&sut_, &peers_}) {
    if (auto st = ns->destroy(); !st && first) first = std::move(st).error();
  }
  return first;
}

Topology::~Topology() {
  if (auto st = teardown(); !st) log::warn("netns: tearing down the topology: ", st.error().describe());
}

}  // namespace ist::netns
