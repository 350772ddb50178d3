#pragma once
// PacketIo over plain kernel UDP sockets: one socket per (local address, port), bound in
// the namespace `run_in` enters. Every local address must exist on a link of that
// namespace. Sends go out at once (sendto); each socket's readable handler reads up to 64
// datagrams and hands them over as one batch. The fallback layer (IKESTORM_NATIVE_IO=
// udp-sockets), for IPv4 and IPv6 peers alike.
#include <functional>
#include <memory>
#include <vector>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "fleet/native/packet_io.hpp"

namespace ist::native {

// Runs fn inside the peers' namespace (sockets stay in the namespace they were made in);
// empty: this process's namespace.
using NamespaceRunner = std::function<Status(const std::function<Status()>&)>;

class UdpSocketsIo final : public PacketIo {
 public:
  // Binds a socket on every address x port and registers them on `loop`.
  static Result<std::unique_ptr<UdpSocketsIo>> open(EventLoop& loop, const std::vector<IpPort>& addresses,
                                                    const std::vector<uint16_t>& ports,
                                                    const NamespaceRunner& run_in);
  ~UdpSocketsIo() override { close(); }

  void send(const PacketDatagram& d) override;
  void flush() override {}
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  bool can_send_from(const IpPort& src) const override { return find(src) != nullptr; }
  PacketIoStats stats() const override { return stats_; }
  std::string name() const override { return "udp-sockets"; }
  void close() override;

 private:
  struct Socket {
    IpPort local;
    unique_fd fd;
  };
  explicit UdpSocketsIo(EventLoop& loop) : loop_(loop) {}
  const Socket* find(const IpPort& local) const;
  void on_readable(size_t socket);

  EventLoop& loop_;
  std::vector<Socket> sockets_;  // sorted by (address, port) for find()
  Receiver receiver_;
  PacketIoStats stats_;
};

}  // namespace ist::native
