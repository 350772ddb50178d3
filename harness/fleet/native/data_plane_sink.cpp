#include "fleet/native/data_plane_sink.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace ist::fleet {

namespace {
constexpr uint32_t kMaxPeer = 10'000'000;  // bounds the per-peer table against a bogus tag
}

Status bind_udp4(int fd, const std::array<uint8_t, 4>& address, uint16_t port) {
  int buf = 4 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  std::memcpy(&sa.sin_addr, address.data(), 4);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0)
    return Error("binding the data sink's UDP socket", errno);
  return ok();
}

Result<std::unique_ptr<DataSink>> DataSink::open(EventLoop& loop, unique_fd bound,
                                                 std::function<std::array<uint8_t, 4>(uint32_t)> inner_source) {
  if (!bound.valid()) return Error("data sink: no socket");
  std::unique_ptr<DataSink> s(new DataSink(loop, std::move(bound), std::move(inner_source)));
  DataSink* self = s.get();
  IST_TRY(loop.add_fd(s->fd_.get(), EPOLLIN, [self](uint32_t) { self->on_readable(); }));
  return s;
}

DataSink::~DataSink() { close(); }

void DataSink::close() {
  if (!fd_.valid()) return;
  loop_.remove_fd(fd_.get());
  fd_.reset();
}

void DataSink::on_readable() {
  uint8_t buf[65536];
  // Bounded per wake-up so one busy socket cannot starve the loop.
  for (int i = 0; i < 256 && fd_.valid(); ++i) {
    sockaddr_in from{};
    socklen_t from_len = sizeof from;
    ssize_t n = ::recvfrom(fd_.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &from_len);
    if (n < 0) return;  // EAGAIN: drained
    auto probe = decode_probe(native::ByteView(buf, static_cast<size_t>(n)));
    if (!probe || probe->echo || probe->peer >= kMaxPeer) {
      ++unrecognized_;
      continue;
    }
    std::array<uint8_t, 4> src{};
    std::memcpy(src.data(), &from.sin_addr, 4);
    if (inner_source_ && inner_source_(probe->peer) != src) {
      ++misrouted_;
      continue;
    }
    if (probe->peer >= peers_.size()) peers_.resize(probe->peer + 1);
    SinkCounts& c = peers_[probe->peer];
    if (probe->kind != ProbeKind::normal) {
      ++c.faults[static_cast<size_t>(probe->kind)];
      ++total_.faults[static_cast<size_t>(probe->kind)];
      continue;
    }
    ++c.received;
    ++total_.received;
    buf[5] = 1;  // the echo flag (data_plane_probe.hpp layout)
    if (::sendto(fd_.get(), buf, static_cast<size_t>(n), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), from_len) ==
        n) {
      ++c.echoed;
      ++total_.echoed;
    } else {
      ++echo_errors_;
    }
  }
}

}  // namespace ist::fleet
