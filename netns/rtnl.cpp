#include "netns/rtnl.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <netlink/attr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace ist::netns {

namespace {

struct MsgFree {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using MsgPtr = std::unique_ptr<nl_msg, MsgFree>;

MsgPtr new_msg(int type, int flags) { return MsgPtr(nlmsg_alloc_simple(type, flags)); }

Status send_one(const NlSocket& sock, nl_msg* msg, std::string what) {
  RtnlBatch batch(sock);
  IST_TRY(batch.add(msg, std::move(what)));
  return batch.flush();
}

MsgPtr address_msg(int type, int flags, int ifindex, const IpPrefix& p, const AddressOptions& opts) {
  MsgPtr m = new_msg(type, flags);
  if (!m) return m;
  ifaddrmsg ifa{};
  ifa.ifa_family = static_cast<unsigned char>(p.address.family);
  ifa.ifa_prefixlen = static_cast<unsigned char>(p.length);
  ifa.ifa_scope = RT_SCOPE_UNIVERSE;
  ifa.ifa_index = static_cast<unsigned>(ifindex);
  std::uint32_t flags32 = 0;
  if (opts.no_prefix_route) flags32 |= IFA_F_NOPREFIXROUTE;
  if (opts.no_dad && p.address.family == AF_INET6) flags32 |= IFA_F_NODAD;
  int len = static_cast<int>(p.address.size());
  if (nlmsg_append(m.get(), &ifa, sizeof ifa, NLMSG_ALIGNTO) < 0 ||
      nla_put(m.get(), IFA_LOCAL, len, p.address.bytes.data()) < 0 ||
      nla_put(m.get(), IFA_ADDRESS, len, p.address.bytes.data()) < 0 ||
      (flags32 != 0 && nla_put_u32(m.get(), IFA_FLAGS, flags32) < 0))
    return nullptr;
  return m;
}

Status queue_addresses(RtnlBatch& batch, int type, int flags, int ifindex,
                       const std::vector<IpPrefix>& addrs, const AddressOptions& opts) {
  const char* verb = type == RTM_NEWADDR ? "adding address " : "removing address ";
  for (const auto& p : addrs) {
    if (!opts.user_given && !in_harness_range(p.address))
      return Error(p.address.str() + " is outside the harness's ranges (198.18.0.0/15, 2001:2::/48)");
    MsgPtr m = address_msg(type, flags, ifindex, p, opts);
    if (!m) return Error("building a netlink address message");
    IST_TRY(batch.add(m.get(), verb + p.str()));
  }
  return ok();
}

}  // namespace

Status RtnlBatch::add(nl_msg* msg, std::string what) {
  nlmsghdr* h = nlmsg_hdr(msg);
  std::size_t len = NLMSG_ALIGN(h->nlmsg_len);
  if (!buffer_.empty() && buffer_.size() + len > kBatchBytes) IST_TRY(flush());
  std::size_t at = buffer_.size();
  buffer_.resize(at + len);
  std::memcpy(buffer_.data() + at, h, h->nlmsg_len);
  auto* copy = reinterpret_cast<nlmsghdr*>(buffer_.data() + at);
  copy->nlmsg_flags = static_cast<std::uint16_t>((copy->nlmsg_flags | NLM_F_REQUEST) & ~NLM_F_ACK);
  copy->nlmsg_seq = static_cast<std::uint32_t>(labels_.size() + 1);
  copy->nlmsg_pid = 0;
  offsets_.push_back(at);
  labels_.push_back(std::move(what));
  return ok();
}

Status RtnlBatch::flush() {
  if (buffer_.empty()) return ok();
  // Only the last message asks for an acknowledgement; the kernel processes a batch in
  // order and reports every failure, so its ack means every earlier message is done.
  auto* last = reinterpret_cast<nlmsghdr*>(buffer_.data() + offsets_.back());
  last->nlmsg_flags |= NLM_F_ACK;
  const std::uint32_t last_seq = last->nlmsg_seq;
  std::vector<char> out;
  out.swap(buffer_);
  std::vector<std::string> labels;
  labels.swap(labels_);
  offsets_.clear();

  int rc = nl_sendto(sock_.get(), out.data(), out.size());
  if (rc < 0) return nl_error("sending " + std::to_string(labels.size()) + " netlink requests", rc);
  sent_ += labels.size();

  Error first;
  bool failed = false;
  alignas(nlmsghdr) static thread_local char rx[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(sock_.fd(), rx, sizeof rx, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return Error("the kernel did not answer netlink requests within 5 s");
      return Error::sys("reading netlink acknowledgements");
    }
    int left = static_cast<int>(n);
    for (auto* h = reinterpret_cast<nlmsghdr*>(rx); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type != NLMSG_ERROR) continue;
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      if (e->error != 0 && !failed) {
        std::uint32_t seq = h->nlmsg_seq;
        std::string what = seq >= 1 && seq <= labels.size() ? labels[seq - 1] : "netlink request";
        first = Error(what, -e->error);
        failed = true;
      }
      if (h->nlmsg_seq == last_seq) return failed ? Status(first) : ok();
    }
  }
}

Status add_addresses(RtnlBatch& batch, int ifindex, const std::vector<IpPrefix>& addrs,
                     const AddressOptions& opts) {
  return queue_addresses(batch, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, addrs, opts);
}

Status add_addresses(const NlSocket& sock, int ifindex, const std::vector<IpPrefix>& addrs,
                     const AddressOptions& opts) {
  RtnlBatch batch(sock);
  IST_TRY(add_addresses(batch, ifindex, addrs, opts));
  return batch.flush();
}

Status remove_addresses(const NlSocket& sock, int ifindex, const std::vector<IpPrefix>& addrs) {
  RtnlBatch batch(sock);
  IST_TRY(queue_addresses(batch, RTM_DELADDR, 0, ifindex, addrs, {}));
  return batch.flush();
}

// A static route of the main table to dst, of the given type (unicast, blackhole).
static rtmsg static_route_header(const IpPrefix& dst, unsigned char type) {
  rtmsg rt{};
  rt.rtm_family = static_cast<unsigned char>(dst.address.family);
  rt.rtm_dst_len = static_cast<unsigned char>(dst.length);
  rt.rtm_table = RT_TABLE_MAIN;
  rt.rtm_protocol = RTPROT_STATIC;
  rt.rtm_scope = RT_SCOPE_UNIVERSE;
  rt.rtm_type = type;
  return rt;
}

Status add_route(const NlSocket& sock, const IpPrefix& dst, const IpAddress& gateway, int ifindex, bool user_given) {
  if (!user_given && (!in_harness_range(dst.address) || !in_harness_range(gateway)))
    return Error("route " + dst.str() + " via " + gateway.str() + " is outside the harness's ranges");
  MsgPtr m = new_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rt = static_route_header(dst, RTN_UNICAST);
  int len = static_cast<int>(dst.address.size());
  if (!m || nlmsg_append(m.get(), &rt, sizeof rt, NLMSG_ALIGNTO) < 0 ||
      nla_put(m.get(), RTA_DST, len, dst.address.bytes.data()) < 0 ||
      nla_put(m.get(), RTA_GATEWAY, len, gateway.bytes.data()) < 0 ||
      nla_put_u32(m.get(), RTA_OIF, static_cast<std::uint32_t>(ifindex)) < 0)
    return Error("building a netlink route message");
  return send_one(sock, m.get(), "adding route " + dst.str() + " via " + gateway.str());
}

Status add_blackhole_route(const NlSocket& sock, const IpPrefix& dst, bool user_given) {
  if (!user_given && !in_harness_range(dst.address))
    return Error("blackhole route " + dst.str() + " is outside the harness's ranges");
  MsgPtr m = new_msg(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  rtmsg rt = static_route_header(dst, RTN_BLACKHOLE);
  if (!m || nlmsg_append(m.get(), &rt, sizeof rt, NLMSG_ALIGNTO) < 0 ||
      nla_put(m.get(), RTA_DST, static_cast<int>(dst.address.size()), dst.address.bytes.data()) < 0)
    return Error("building a netlink route message");
  return send_one(sock, m.get(), "adding blackhole route " + dst.str());
}

Status create_simple_link(const NlSocket& sock, const std::string& name, const std::string& kind) {
  if (name.size() > 15) return Error("interface names are limited to 15 characters");
  MsgPtr m = new_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  if (!m) return Error("allocating a netlink message");
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  bool built = nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) >= 0 &&
               nla_put_string(m.get(), IFLA_IFNAME, name.c_str()) >= 0;
  nlattr* linkinfo = built ? nla_nest_start(m.get(), IFLA_LINKINFO) : nullptr;
  if (!linkinfo || nla_put_string(m.get(), IFLA_INFO_KIND, kind.c_str()) < 0)
    return Error("building a netlink link message");
  nla_nest_end(m.get(), linkinfo);
  return send_one(sock, m.get(), "creating " + kind + " link " + name);
}

Result<int> link_index(const NlSocket& sock, const std::string& name) {
  rtnl_link* link = nullptr;
  if (int err = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &link); err < 0)
    return nl_error("looking up link " + name, err);
  int index = rtnl_link_get_ifindex(link);
  rtnl_link_put(link);
  return index;
}

Result<LinkInfo> link_info(const NlSocket& sock, const std::string& name) {
  rtnl_link* link = nullptr;
  if (int err = rtnl_link_get_kernel(sock.get(), 0, name.c_str(), &link); err < 0)
    return nl_error("looking up link " + name, err);
  LinkInfo info;
  info.ifindex = rtnl_link_get_ifindex(link);
  info.mtu = rtnl_link_get_mtu(link);
  info.up = (rtnl_link_get_flags(link) & IFF_UP) != 0;
  info.master = rtnl_link_get_master(link);
  rtnl_link_put(link);
  return info;
}

namespace {

// RTM_NEWLINK on an existing link; `fill` adds attributes after the ifinfomsg.
template <class Fill>
Status change_link(const NlSocket& sock, int ifindex, unsigned flags, unsigned change, const std::string& what,
                   Fill fill) {
  MsgPtr m = new_msg(RTM_NEWLINK, 0);
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  ifi.ifi_index = ifindex;
  ifi.ifi_flags = flags;
  ifi.ifi_change = change;
  if (!m || nlmsg_append(m.get(), &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 || !fill(m.get()))
    return Error("building a netlink link message");
  return send_one(sock, m.get(), what + " (link " + std::to_string(ifindex) + ")");
}

bool no_attributes(nl_msg*) { return true; }

}  // namespace

Status set_link_up(const NlSocket& sock, int ifindex) {
  return change_link(sock, ifindex, IFF_UP, IFF_UP, "setting a link up", no_attributes);
}

Status set_link_down(const NlSocket& sock, int ifindex) {
  return change_link(sock, ifindex, 0, IFF_UP, "setting a link down", no_attributes);
}

Status set_link_mtu(const NlSocket& sock, int ifindex, unsigned mtu) {
  return change_link(sock, ifindex, 0, 0, "setting MTU " + std::to_string(mtu),
                     [&](nl_msg* m) { return nla_put_u32(m, IFLA_MTU, mtu) >= 0; });
}

Status set_link_master(const NlSocket& sock, int ifindex, int master_ifindex) {
  return change_link(sock, ifindex, 0, 0, "attaching a link to a bridge", [&](nl_msg* m) {
    return nla_put_u32(m, IFLA_MASTER, static_cast<std::uint32_t>(master_ifindex)) >= 0;
  });
}

Status move_link_to_netns(const NlSocket& sock, int ifindex, int netns_fd) {
  return change_link(sock, ifindex, 0, 0, "moving a link to another namespace", [&](nl_msg* m) {
    return nla_put_u32(m, IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd)) >= 0;
  });
}

Status create_veth_pair(const NlSocket& sock, const std::string& name, const std::string& peer_name,
                        int peer_netns_fd, unsigned mtu) {
  if (name.size() > 15 || peer_name.size() > 15) return Error("interface names are limited to 15 characters");
  MsgPtr m = new_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  if (!m) return Error("allocating a netlink message");
  nl_msg* msg = m.get();
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  bool built = nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) >= 0 &&
               nla_put_string(msg, IFLA_IFNAME, name.c_str()) >= 0 &&
               nla_put_u32(msg, IFLA_MTU, mtu) >= 0;
  nlattr* linkinfo = built ? nla_nest_start(msg, IFLA_LINKINFO) : nullptr;
  built = linkinfo && nla_put_string(msg, IFLA_INFO_KIND, "veth") >= 0;
  nlattr* data = built ? nla_nest_start(msg, IFLA_INFO_DATA) : nullptr;
  nlattr* peer = data ? nla_nest_start(msg, VETH_INFO_PEER) : nullptr;
  // The peer's attributes follow its own ifinfomsg inside VETH_INFO_PEER.
  built = peer && nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) >= 0 &&
          nla_put_string(msg, IFLA_IFNAME, peer_name.c_str()) >= 0 &&
          nla_put_u32(msg, IFLA_MTU, mtu) >= 0 &&
          nla_put_u32(msg, IFLA_NET_NS_FD, static_cast<std::uint32_t>(peer_netns_fd)) >= 0;
  if (!built) return Error("building a netlink veth message");
  nla_nest_end(msg, peer);
  nla_nest_end(msg, data);
  nla_nest_end(msg, linkinfo);
  return send_one(sock, msg, "creating veth pair " + name + "/" + peer_name);
}

Status create_macvlan(const NlSocket& sock, int parent_ifindex, const std::string& name, int netns_fd) {
  if (name.size() > 15) return Error("interface names are limited to 15 characters");
  MsgPtr m = new_msg(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  if (!m) return Error("allocating a netlink message");
  nl_msg* msg = m.get();
  ifinfomsg ifi{};
  ifi.ifi_family = AF_UNSPEC;
  bool built = nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) >= 0 &&
               nla_put_string(msg, IFLA_IFNAME, name.c_str()) >= 0 &&
               nla_put_u32(msg, IFLA_LINK, static_cast<std::uint32_t>(parent_ifindex)) >= 0 &&
               nla_put_u32(msg, IFLA_NET_NS_FD, static_cast<std::uint32_t>(netns_fd)) >= 0;
  nlattr* linkinfo = built ? nla_nest_start(msg, IFLA_LINKINFO) : nullptr;
  built = linkinfo && nla_put_string(msg, IFLA_INFO_KIND, "macvlan") >= 0;
  nlattr* data = built ? nla_nest_start(msg, IFLA_INFO_DATA) : nullptr;
  if (!data || nla_put_u32(msg, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE) < 0)
    return Error("building a netlink macvlan message");
  nla_nest_end(msg, data);
  nla_nest_end(msg, linkinfo);
  return send_one(sock, msg, "creating macvlan " + name + " of link " + std::to_string(parent_ifindex));
}

}  // namespace ist::netns
