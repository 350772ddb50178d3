#pragma once
// rtnetlink requests on an NlSocket: links, bulk addresses, routes. Bulk requests are
// pipelined (RtnlBatch): many messages per sendmsg, one acknowledgement per batch, errors
// still reported per message, instead of one `ip` process or one round trip per address.
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/ip_address.hpp"
#include "netns/nl_socket.hpp"

struct nl_msg;

namespace ist::netns {

class RtnlBatch {
 public:
  explicit RtnlBatch(const NlSocket& sock) : sock_(sock) {}
  // Queues a copy of `msg` (the caller keeps and frees it); `what` names it in errors.
  // Sends the queue first when it is full.
  Status add(nl_msg* msg, std::string what);
  // Sends what is queued and waits until the kernel processed all of it. Returns the first
  // failure; the kernel still applies the other messages of the batch.
  Status flush();
  std::size_t sent() const { return sent_; }

 private:
  static constexpr std::size_t kBatchBytes = 60 * 1024;  // well under the socket's sndbuf
  const NlSocket& sock_;
  std::vector<char> buffer_;
  std::vector<std::string> labels_;  // per queued message
  std::vector<std::size_t> offsets_;
  std::size_t sent_ = 0;
};

struct AddressOptions {
  bool no_prefix_route = false;  // IFA_F_NOPREFIXROUTE: keep the prefix length, add no route
  bool no_dad = true;            // IFA_F_NODAD: IPv6 addresses usable at once
  // Addresses the user named for an external target (target.local, target.peers/inner), in a
  // namespace of the run's own, after the target host check: not held to the harness's
  // ranges, which bound every address the harness picks itself.
  bool user_given = false;
};

Status add_addresses(const NlSocket& sock, int ifindex, const std::vector<IpPrefix>& addrs,
                     const AddressOptions& opts = {});
// Queues the requests on `batch` (flush it to wait for them).
Status add_addresses(RtnlBatch& batch, int ifindex, const std::vector<IpPrefix>& addrs,
                     const AddressOptions& opts = {});
Status remove_addresses(const NlSocket& sock, int ifindex, const std::vector<IpPrefix>& addrs);
// `dst` via `gateway` out of `ifindex` in the main table.
// `user_given`: the route to an external target the user named (see AddressOptions).
Status add_route(const NlSocket& sock, const IpPrefix& dst, const IpAddress& gateway, int ifindex,
                 bool user_given = false);
// A blackhole route for `dst` in the main table: the kernel drops what it would route there
// without a word. An IPv6 prefix that a packet layer reads off the link (no kernel address)
// needs it: without a route the kernel answers each packet with an ICMPv6 "no route".
Status add_blackhole_route(const NlSocket& sock, const IpPrefix& dst, bool user_given = false);

// A link of a kind that needs no attributes (e.g. "bridge"), created down.
Status create_simple_link(const NlSocket& sock, const std::string& name, const std::string& kind);
Result<int> link_index(const NlSocket& sock, const std::string& name);
struct LinkInfo {
  int ifindex = 0;
  unsigned mtu = 0;
  bool up = false;     // IFF_UP
  int master = 0;      // bridge ifindex, 0 if none
};
Result<LinkInfo> link_info(const NlSocket& sock, const std::string& name);
Status set_link_up(const NlSocket& sock, int ifindex);
Status set_link_down(const NlSocket& sock, int ifindex);
Status set_link_mtu(const NlSocket& sock, int ifindex, unsigned mtu);
// Enslaves `ifindex` to a bridge (master_ifindex 0: releases it).
Status set_link_master(const NlSocket& sock, int ifindex, int master_ifindex);
// Moves a link of the socket's namespace into the namespace `netns_fd` refers to.
Status move_link_to_netns(const NlSocket& sock, int ifindex, int netns_fd);
// A veth pair created from the socket's namespace with the peer end born directly in the
// namespace `peer_netns_fd` refers to: neither end ever exists anywhere else.
Status create_veth_pair(const NlSocket& sock, const std::string& name, const std::string& peer_name,
                        int peer_netns_fd, unsigned mtu);

// A macvlan (bridge mode) of the socket's namespace's link `parent_ifindex`, created down
// and born directly in the namespace `netns_fd` refers to: it never exists where its parent is.
Status create_macvlan(const NlSocket& sock, int parent_ifindex, const std::string& name, int netns_fd);

}  // namespace ist::netns
