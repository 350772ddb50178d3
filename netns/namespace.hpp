#pragma once
// A named network namespace owned by RAII: /run/netns/ist-<runid>-<role>, created the way
// `ip netns add` does it (a bind mount of a fresh namespace on a file under a shared
// /run/netns), journaled in the RunState before it exists and forgotten after it is gone, so
// `ikestorm clean` can remove it after a SIGKILL.
#include <functional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/run_state.hpp"
#include "common/unique_fd.hpp"
#include "netns/ip_address.hpp"
#include "netns/nl_socket.hpp"

namespace ist::netns {

class Namespace {
 public:
  Namespace() = default;
  // Creates ist-<runid>-<role>. `state` must outlive the Namespace and stay where it is.
  // Errors: missing privileges (one sentence), a bad role, a name that exists already.
  static Result<Namespace> create(RunState& state, std::string role);

  ~Namespace();
  Namespace(Namespace&& o) noexcept;
  Namespace& operator=(Namespace&& o) noexcept;
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;

  const std::string& name() const { return name_; }
  const std::string& role() const { return role_; }
  std::string path() const;      // /run/netns/<name>
  int fd() const { return fd_.get(); }  // O_RDONLY on the namespace file, for setns/IFLA_NET_NS_FD
  bool valid() const { return fd_.valid(); }

  // Runs `fn` on a short-lived thread that has joined this namespace, and waits for it.
  // Sockets made inside stay in the namespace; /proc/sys/net opened inside is this
  // namespace's.
  Status run_in(const std::function<Status()>& fn) const;
  // A connected libnl socket (NETLINK_ROUTE by default) that lives in this namespace.
  Result<NlSocket> open_netlink(int protocol = 0) const;
  // socket(2) inside this namespace.
  Result<unique_fd> open_socket(int domain, int type, int protocol = 0) const;
  // Adds addresses to the link named `link` in this namespace (rtnetlink).
  Status add_link_addresses(const std::string& link, const std::vector<IpPrefix>& addrs) const;

  // Unmounts and removes the namespace file and forgets it in the journal. Idempotent.
  // Processes still inside keep the namespace alive until they exit: stop them first.
  Status destroy();

 private:
  RunState* state_ = nullptr;
  std::string name_;
  std::string role_;
  unique_fd fd_;
};

// Roles name namespaces: 1-16 characters of [a-z0-9].
bool is_valid_role(std::string_view role);

}  // namespace ist::netns
