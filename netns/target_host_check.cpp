#include "netns/target_host_check.hpp"

#include <linux/if.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>

#include "common/unique_fd.hpp"
#include "netns/topology.hpp"

namespace ist::netns {

const HostNetwork::Link* HostNetwork::link(const std::string& name) const {
  for (const auto& l : links)
    if (l.name == name) return &l;
  return nullptr;
}

const HostNetwork::Link* HostNetwork::link(int index) const {
  for (const auto& l : links)
    if (l.index == index) return &l;
  return nullptr;
}

// ------------------------------------------------------------------ reading rtnetlink

namespace {

constexpr std::size_t kBuffer = 64 * 1024;

Result<unique_fd> open_rtnl() {
  unique_fd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return Error::sys("socket(NETLINK_ROUTE)");
  timeval tv{3, 0};  // the kernel answers at once; this only bounds a wedged read
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

template <typename Body>
struct Request {
  nlmsghdr h;
  Body body;
  char attrs[64];
};

// Sends `req` and hands every answer message to `on_msg` until NLMSG_DONE (dumps) or the
// single answer (a plain request).
template <typename Body>
Status exchange(int fd, Request<Body>& req, bool dump, const std::function<void(const nlmsghdr*)>& on_msg,
                const std::string& what) {
  static uint32_t seq = 0;
  req.h.nlmsg_seq = ++seq;
  if (::send(fd, &req, req.h.nlmsg_len, 0) < 0) return Error::sys(what + ": netlink send");
  std::vector<char> buf(kBuffer);
  while (true) {
    ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys(what + ": netlink receive");
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<const nlmsghdr*>(buf.data()); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_seq != req.h.nlmsg_seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return ok();
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return ok();
        return Error(what, -e->error);
      }
      on_msg(h);
      if (!dump) return ok();
    }
  }
}

template <typename Body>
Request<Body> request(uint16_t type, bool dump) {
  Request<Body> r{};
  r.h.nlmsg_len = NLMSG_LENGTH(sizeof(Body));
  r.h.nlmsg_type = type;
  r.h.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0);
  return r;
}

// Calls fn(type, data, len) for each attribute after the fixed header `Body`.
template <typename Body, typename Fn>
void for_each_attr(const nlmsghdr* h, Fn&& fn) {
  const auto* body = static_cast<const Body*>(NLMSG_DATA(h));
  int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_LENGTH(sizeof(Body)));
  for (auto* a = reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(body) + NLMSG_ALIGN(sizeof(Body)));
       RTA_OK(a, len); a = RTA_NEXT(a, len))
    fn(a->rta_type, RTA_DATA(a), RTA_PAYLOAD(a));
}

// An address attribute of `family` (4 or 16 bytes); nullopt when it is shorter.
std::optional<IpAddress> address_from(int family, const void* data, std::size_t len) {
  IpAddress a;
  a.family = family;
  if (len < a.size()) return std::nullopt;
  std::memcpy(a.bytes.data(), data, a.size());
  return a;
}

IpAddress any_address(int family) {
  IpAddress a;
  a.family = family;
  return a;
}

}  // namespace

Result<HostNetwork> read_host_network() {
  IST_TRY_ASSIGN(auto fd, open_rtnl());
  HostNetwork host;

  auto links = request<ifinfomsg>(RTM_GETLINK, true);
  links.body.ifi_family = AF_UNSPEC;
  IST_TRY(exchange(fd.get(), links, true, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    const auto* ifi = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    HostNetwork::Link l{ifi->ifi_index, "", (ifi->ifi_flags & IFF_UP) != 0};
    for_each_attr<ifinfomsg>(h, [&](unsigned type, const void* data, std::size_t len) {
      if (type == IFLA_IFNAME) l.name.assign(static_cast<const char*>(data), ::strnlen(static_cast<const char*>(data), len));
    });
    host.links.push_back(std::move(l));
  }, "reading this host's links"));

  for (const int family : {AF_INET, AF_INET6}) {
    auto addrs = request<ifaddrmsg>(RTM_GETADDR, true);
    addrs.body.ifa_family = static_cast<uint8_t>(family);
    IST_TRY(exchange(fd.get(), addrs, true, [&](const nlmsghdr* h) {
      if (h->nlmsg_type != RTM_NEWADDR) return;
      const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
      if (ifa->ifa_family != family) return;
      std::optional<IpAddress> local, address;
      for_each_attr<ifaddrmsg>(h, [&](unsigned type, const void* data, std::size_t len) {
        if (type == IFA_LOCAL) local = address_from(family, data, len);
        if (type == IFA_ADDRESS) address = address_from(family, data, len);
      });
      // IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer's on point-to-point;
      // IPv6 sends IFA_ADDRESS alone).
      if (auto a = local ? local : address)
        host.addresses.push_back({static_cast<int>(ifa->ifa_index), IpPrefix{*a, ifa->ifa_prefixlen}});
    }, "reading this host's addresses"));

    auto routes = request<rtmsg>(RTM_GETROUTE, true);
    routes.body.rtm_family = static_cast<uint8_t>(family);
    IST_TRY(exchange(fd.get(), routes, true, [&](const nlmsghdr* h) {
      if (h->nlmsg_type != RTM_NEWROUTE) return;
      const auto* rt = static_cast<const rtmsg*>(NLMSG_DATA(h));
      if (rt->rtm_family != family) return;
      HostNetwork::Route r;
      r.dst = IpPrefix{any_address(family), rt->rtm_dst_len};
      r.type = rt->rtm_type;
      r.table = rt->rtm_table;
      for_each_attr<rtmsg>(h, [&](unsigned type, const void* data, std::size_t len) {
        if (type == RTA_DST)
          if (auto a = address_from(family, data, len)) r.dst.address = *a;
        if (type == RTA_OIF && len >= 4) std::memcpy(&r.oif, data, sizeof r.oif);
        if (type == RTA_TABLE && len >= 4) {
          uint32_t t = 0;
          std::memcpy(&t, data, sizeof t);
          r.table = static_cast<uint8_t>(t > 255 ? 0 : t);
        }
      });
      // IPv6's multicast routes (ff00::/8) claim nothing a target's prefixes could hold.
      if (r.table != RT_TABLE_LOCAL && r.type != RTN_MULTICAST) host.routes.push_back(r);
    }, "reading this host's routes"));
  }
  return host;
}

Result<RouteLookup> lookup_route(const IpAddress& destination) {
  const int family = destination.family;
  const auto size = static_cast<unsigned>(destination.size());
  IST_TRY_ASSIGN(auto fd, open_rtnl());
  auto req = request<rtmsg>(RTM_GETROUTE, false);
  req.body.rtm_family = static_cast<uint8_t>(family);
  req.body.rtm_dst_len = static_cast<uint8_t>(size * 8);
  auto* attr = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.h.nlmsg_len));
  attr->rta_type = RTA_DST;
  attr->rta_len = static_cast<unsigned short>(RTA_LENGTH(size));
  std::memcpy(RTA_DATA(attr), destination.bytes.data(), size);
  req.h.nlmsg_len = NLMSG_ALIGN(req.h.nlmsg_len) + RTA_ALIGN(attr->rta_len);
  RouteLookup out;
  bool answered = false;
  IST_TRY(exchange(fd.get(), req, false, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWROUTE) return;
    answered = true;
    out.type = static_cast<const rtmsg*>(NLMSG_DATA(h))->rtm_type;
    for_each_attr<rtmsg>(h, [&](unsigned type, const void* data, std::size_t len) {
      if (type == RTA_OIF && len >= 4) std::memcpy(&out.oif, data, sizeof out.oif);
      if (type == RTA_GATEWAY) out.gateway = address_from(family, data, len);
    });
  }, "route lookup for " + destination.str()));
  if (!answered) return Error("route lookup for " + destination.str() + ": no answer", EPROTO);
  return out;
}

Result<uint16_t> neighbour_state(const IpAddress& address) {
  IST_TRY_ASSIGN(auto fd, open_rtnl());
  auto req = request<ndmsg>(RTM_GETNEIGH, true);
  req.body.ndm_family = static_cast<uint8_t>(address.family);
  uint16_t state = 0;
  IST_TRY(exchange(fd.get(), req, true, [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWNEIGH) return;
    const auto* nd = static_cast<const ndmsg*>(NLMSG_DATA(h));
    for_each_attr<ndmsg>(h, [&](unsigned type, const void* data, std::size_t len) {
      if (type == NDA_DST && nd->ndm_family == address.family && len >= address.size() &&
          std::memcmp(data, address.bytes.data(), address.size()) == 0)
        state = nd->ndm_state;
    });
  }, "reading the neighbour table"));
  return state;
}

bool neighbour_resolved(uint16_t s) {
  return (s & (NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | NUD_NOARP)) != 0;
}

// ------------------------------------------------------------------ the judgement

namespace {

std::string link_name(const HostNetwork& host, int index) {
  const auto* l = host.link(index);
  return l != nullptr ? l->name : "ifindex " + std::to_string(index);
}

std::string link_names(const HostNetwork& host) {
  std::string s;
  for (const auto& l : host.links) s += (s.empty() ? "" : ", ") + l.name;
  return s.empty() ? "none" : s;
}

void check_interface(const TargetNetwork& t, const HostNetwork& host, std::vector<std::string>& problems) {
  const auto* link = host.link(t.interface);
  if (link == nullptr) {
    problems.push_back("target.interface " + t.interface + " does not exist in this network namespace (its links: " +
                       link_names(host) + ")");
    return;
  }
  if (!link->up) problems.push_back("target.interface " + t.interface + " is down");
  // The connected prefixes of local's family; an IPv6 link-local one (fe80::/10) is no
  // network a gateway is reached on.
  const bool v4 = t.local.address.family == AF_INET;
  std::vector<IpPrefix> nets;
  for (const auto& a : host.addresses)
    if (a.ifindex == link->index && a.prefix.address.family == t.local.address.family &&
        !is_link_local(a.prefix.address))
      nets.push_back(a.prefix.network());
  if (nets.empty()) {
    problems.push_back("target.interface " + t.interface + " has no " + (v4 ? "IPv4" : "global IPv6") +
                       " address, so target.local " + t.local.str() + " cannot be placed inside its connected prefix");
    return;
  }
  for (const auto& n : nets)
    if (n.contains(t.local.address)) return;
  std::string list;
  for (const auto& n : nets) list += (list.empty() ? "" : ", ") + n.str();
  problems.push_back("target.local " + t.local.str() + " is not inside " + t.interface + "'s connected prefix (" +
                     list + ")");
}

void check_own_addresses(const TargetNetwork& t, const HostNetwork& host, std::vector<std::string>& problems) {
  for (const auto& a : host.addresses) {
    const std::string where = " (on " + link_name(host, a.ifindex) + ")";
    if (a.prefix.address == t.local.address)
      problems.push_back("target.local " + t.local.address.str() + " is one of this host's addresses" + where +
                         ": it must be an unused address on the gateway's network");
    if (a.prefix.address == t.address)
      problems.push_back("target.address " + t.address.str() + " is one of this host's addresses" + where +
                         ": the target must be another box");
  }
}

void check_peer_prefixes(const TargetNetwork& t, const HostNetwork& host, std::vector<std::string>& problems) {
  std::vector<std::pair<const IpPrefix*, const char*>> prefixes{{&t.peers, "target.peers"}};
  if (t.inner) prefixes.push_back({&*t.inner, "target.inner"});
  for (auto [p, key] : prefixes) {
    for (const auto& a : host.addresses)
      if (p->contains(a.prefix.address)) {
        problems.push_back(std::string(key) + " " + p->str() + " holds this host's address " + a.prefix.address.str() +
                           " (on " + link_name(host, a.ifindex) + ")");
        break;
      }
    for (const auto& r : host.routes) {
      if (r.dst.length == 0) continue;  // a default route covers everything: it is no claim
      if (!p->overlaps(r.dst)) continue;
      problems.push_back(std::string(key) + " " + p->str() + " overlaps this host's route to " + r.dst.str() +
                         (r.oif ? " (dev " + link_name(host, r.oif) + ")" : std::string()) +
                         (r.table != RT_TABLE_MAIN ? " in table " + std::to_string(r.table) : std::string()));
      break;
    }
  }
}

}  // namespace

TargetHostCheck check_target_host(const TargetNetwork& t, const HostNetwork& host,
                                  const Result<RouteLookup>& route) {
  TargetHostCheck out;
  check_interface(t, host, out.problems);
  check_own_addresses(t, host, out.problems);
  check_peer_prefixes(t, host, out.problems);
  const std::string addr = "target.address " + t.address.str();
  if (!route) {
    const int e = route.error().errno_value;
    const std::string why = e == ENETUNREACH   ? "no route to it"
                            : e == EHOSTUNREACH ? "its route is of type unreachable"
                            : e == EACCES       ? "its route is of type prohibit"
                            : e == EINVAL       ? "its route is a blackhole"
                                                : route.error().describe();
    out.problems.push_back(addr + " is unreachable from this host: " + why +
                           " (a route lookup in this network namespace; nothing was sent)");
    return out;
  }
  if (route->type == RTN_LOCAL) return out;  // one of this host's addresses: said above
  const auto* link = host.link(t.interface);
  if (link != nullptr && route->oif != link->index) {
    out.problems.push_back(addr + " is reached through " + link_name(host, route->oif) + ", not target.interface " +
                           t.interface + " (the route lookup in this network namespace says so)");
    return out;
  }
  if (route->gateway) out.via = route->gateway;
  return out;
}

TargetHostCheck check_target_host(const TargetNetwork& t) {
  auto host = read_host_network();
  if (!host) return TargetHostCheck{{"cannot read this host's network: " + host.error().describe()}, std::nullopt};
  return check_target_host(t, *host, lookup_route(t.address));
}

}  // namespace ist::netns
