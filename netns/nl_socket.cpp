#include "netns/nl_socket.hpp"

#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cstdlib>

namespace ist::netns {

void NlSocket::Free::operator()(nl_sock* s) const { nl_socket_free(s); }

Result<NlSocket> NlSocket::open(int protocol) {
  NlSocket out;
  out.sock_.reset(nl_socket_alloc());
  if (!out.sock_) return Error("allocating a netlink socket");
  if (int err = nl_connect(out.sock_.get(), protocol); err < 0)
    return nl_error("connecting a netlink socket", err);
  // Bounded waits: a kernel that never answers must not hang a run.
  timeval tv{5, 0};
  ::setsockopt(out.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  // Room for bulk acknowledgements and errors.
  nl_socket_set_buffer_size(out.sock_.get(), 1 << 20, 1 << 20);
  return out;
}

int NlSocket::fd() const { return sock_ ? nl_socket_get_fd(sock_.get()) : -1; }

Error nl_error(const std::string& what, int nl_err) {
  return Error(what + ": " + nl_geterror(std::abs(nl_err)));
}

}  // namespace ist::netns
