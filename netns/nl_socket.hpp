#pragma once
// An rtnetlink socket (libnl nl_sock) owned by RAII. A netlink socket talks to the network
// namespace it was created in for its whole life, whichever thread uses it later, so
// Namespace::open_netlink() creates it on a thread inside the namespace.
#include <memory>
#include <string>

#include "common/result.hpp"

struct nl_sock;

namespace ist::netns {

class NlSocket {
 public:
  NlSocket() = default;
  // Allocates and connects a socket for `protocol` (NETLINK_ROUTE, NETLINK_NETFILTER, ...)
  // in the calling thread's network namespace.
  static Result<NlSocket> open(int protocol);

  nl_sock* get() const { return sock_.get(); }
  int fd() const;
  explicit operator bool() const { return static_cast<bool>(sock_); }

 private:
  struct Free {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, Free> sock_;
};

// "what: libnl's text for err" as an Error (libnl returns negative NLE_* codes).
Error nl_error(const std::string& what, int nl_err);

}  // namespace ist::netns
