#include "fleet/native/udp_sockets_io.hpp"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

namespace ist::native {

namespace {

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

SockAddr sockaddr_of(const IpPort& p) {
  SockAddr s;
  if (p.len == 4) {
    auto* in = reinterpret_cast<sockaddr_in*>(&s.ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(p.port);
    std::memcpy(&in->sin_addr, p.addr.data(), 4);
    s.len = sizeof(sockaddr_in);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&s.ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(p.port);
    std::memcpy(&in6->sin6_addr, p.addr.data(), 16);
    s.len = sizeof(sockaddr_in6);
  }
  return s;
}

IpPort ipport_of(const sockaddr_storage& ss) {
  IpPort p;
  if (ss.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    p.len = 16;
    std::memcpy(p.addr.data(), &in6->sin6_addr, 16);
    p.port = ntohs(in6->sin6_port);
  } else {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&ss);
    p.len = 4;
    std::memcpy(p.addr.data(), &in->sin_addr, 4);
    p.port = ntohs(in->sin_port);
  }
  return p;
}

bool less(const IpPort& a, const IpPort& b) {
  if (a.len != b.len) return a.len < b.len;
  if (int c = std::memcmp(a.addr.data(), b.addr.data(), a.len); c != 0) return c < 0;
  return a.port < b.port;
}

}  // namespace

Result<std::unique_ptr<UdpSocketsIo>> UdpSocketsIo::open(EventLoop& loop, const std::vector<IpPort>& addresses,
                                                          const std::vector<uint16_t>& ports,
                                                          const NamespaceRunner& run_in) {
  std::unique_ptr<UdpSocketsIo> io(new UdpSocketsIo(loop));
  // One socket per address and port: raise the soft descriptor limit as far as the hard one allows.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0) {
    rlim_t want = static_cast<rlim_t>(addresses.size() * ports.size()) + 1024;
    if (rl.rlim_cur < want) {
      rl.rlim_cur = std::min(want, rl.rlim_max);
      (void)::setrlimit(RLIMIT_NOFILE, &rl);
    }
  }
  auto make = [&]() -> Status {
    for (const auto& a : addresses) {
      for (uint16_t port : ports) {
        IpPort local = a;
        local.port = port;
        unique_fd fd(::socket(local.len == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!fd) return Error::sys("udp-sockets io: socket() for " + local.str());
        int size = 1 << 18;  // a burst of answers must not overflow the receive buffer
        (void)::setsockopt(fd.get(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        SockAddr sa = sockaddr_of(local);
        if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa.ss), sa.len) != 0)
          return Error::sys("udp-sockets io: bind " + local.str());
        io->sockets_.push_back(Socket{local, std::move(fd)});
      }
    }
    return ok();
  };
  IST_TRY(run_in ? run_in(make) : make());
  std::sort(io->sockets_.begin(), io->sockets_.end(), [](const Socket& a, const Socket& b) { return less(a.local, b.local); });
  for (size_t i = 0; i < io->sockets_.size(); ++i) {
    UdpSocketsIo* self = io.get();
    IST_TRY(loop.add_fd(io->sockets_[i].fd.get(), EPOLLIN, [self, i](uint32_t) { self->on_readable(i); }));
  }
  return io;
}

const UdpSocketsIo::Socket* UdpSocketsIo::find(const IpPort& local) const {
  auto it = std::lower_bound(sockets_.begin(), sockets_.end(), local,
                             [](const Socket& s, const IpPort& p) { return less(s.local, p); });
  if (it == sockets_.end() || !(it->local == local) || !it->fd) return nullptr;
  return &*it;
}

void UdpSocketsIo::send(const PacketDatagram& d) {
  const Socket* s = find(d.src);
  if (!s) {
    ++stats_.send_errors;
    return;
  }
  SockAddr to = sockaddr_of(d.dst);
  ssize_t n = ::sendto(s->fd.get(), d.payload.data(), d.payload.size(), 0, reinterpret_cast<sockaddr*>(&to.ss), to.len);
  if (n == static_cast<ssize_t>(d.payload.size()))
    ++stats_.sent;
  else
    ++stats_.send_errors;
}

void UdpSocketsIo::on_readable(size_t socket) {
  // Bounded: the other sockets get their turn. The batch shares one buffer per datagram.
  constexpr int kBatch = 64;
  static thread_local std::vector<uint8_t> buffers(static_cast<size_t>(kBatch) * 65536);
  PacketDatagram batch[kBatch];
  int n = 0;
  const IpPort local = sockets_[socket].local;
  int fd = sockets_[socket].fd.get();
  for (; n < kBatch; ++n) {
    sockaddr_storage from{};
    socklen_t from_len = sizeof from;
    uint8_t* buf = buffers.data() + static_cast<size_t>(n) * 65536;
    ssize_t got = ::recvfrom(fd, buf, 65536, 0, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (got < 0) break;
    batch[n] = PacketDatagram{ipport_of(from), local, ByteView(buf, static_cast<size_t>(got))};
  }
  if (n == 0) return;
  if (!receiver_) {
    stats_.rx_dropped += static_cast<uint64_t>(n);
    return;
  }
  stats_.received += static_cast<uint64_t>(n);
  receiver_(std::span<const PacketDatagram>(batch, static_cast<size_t>(n)));
}

void UdpSocketsIo::close() {
  for (auto& s : sockets_) {
    if (s.fd) loop_.remove_fd(s.fd.get());
    s.fd.reset();
  }
}

}  // namespace ist::native
