#include "xfrm/monitor.hpp"

#include <linux/xfrm.h>

namespace ist::xfrm {

namespace {
// Datagrams per wakeup before yielding to the rest of the loop (level-triggered: the
// remainder wakes us again).
constexpr int kBatch = 256;
}  // namespace

bool is_notification(const Body& b) {
  return std::holds_alternative<Acquire>(b) || std::holds_alternative<Expire>(b) ||
         std::holds_alternative<PolicyExpire>(b) || std::holds_alternative<SaChange>(b) ||
         std::holds_alternative<PolicyChange>(b) || std::holds_alternative<Flush>(b);
}

Result<std::unique_ptr<Monitor>> Monitor::start(EventLoop& loop, const NetnsRunner& in, Callbacks cb, int rcvbuf) {
  IST_TRY_ASSIGN(auto sock,
                 XfrmSocket::open(in, {XFRMNLGRP_ACQUIRE, XFRMNLGRP_EXPIRE, XFRMNLGRP_SA, XFRMNLGRP_POLICY}, rcvbuf));
  std::unique_ptr<Monitor> m(new Monitor(loop, std::move(sock), std::move(cb)));
  Monitor* self = m.get();
  IST_TRY(loop.add_fd(self->sock_.fd(), EPOLLIN, [self](uint32_t) { self->drain(); }));
  return m;
}

Monitor::~Monitor() {
  if (sock_.valid()) loop_.remove_fd(sock_.fd());
}

void Monitor::drain() {
  for (int i = 0; i < kBatch; ++i) {
    auto d = sock_.receive();
    if (!d) {
      if (d.error().errno_value == ENOBUFS) {
        ++stats_.losses;
        if (cb_.on_loss) cb_.on_loss(stats_.losses);
        continue;  // the socket works again after reporting the overrun
      }
      ++stats_.malformed;
      if (cb_.on_malformed) cb_.on_malformed(d.error());
      if (d.error().errno_value == EMSGSIZE) continue;
      return;
    }
    if (d->empty()) return;
    ++stats_.datagrams;
    if (cb_.on_datagram) cb_.on_datagram(*d);
    const MonoTime now = loop_.clock().now();
    Status framing = for_each_message(*d, [&](Result<Message> m) {
      if (!m) {
        ++stats_.malformed;
        if (cb_.on_malformed) cb_.on_malformed(m.error());
        return;
      }
      if (!is_notification(m->body)) return;
      ++stats_.events;
      if (cb_.on_event) cb_.on_event(Event{now, std::move(*m)});
    });
    if (!framing) {
      ++stats_.malformed;
      if (cb_.on_malformed) cb_.on_malformed(framing.error());
    }
  }
}

}  // namespace ist::xfrm
