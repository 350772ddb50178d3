#pragma once
// Kernel XFRM notifications of one namespace on the EventLoop: ACQUIRE, EXPIRE (soft/hard),
// SA and policy changes, policy expiry, flushes. The socket joins XFRMNLGRP_ACQUIRE, EXPIRE,
// SA and POLICY. When the kernel drops notifications (ENOBUFS: the receive buffer filled
// faster than the loop drained it) the monitor counts a loss and calls on_loss, so the owner
// can resync its counts from a fresh snapshot; it never stops on garbage.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>

#include "common/event_loop.hpp"
#include "xfrm/message.hpp"
#include "xfrm/socket.hpp"

namespace ist::xfrm {

struct Event {
  MonoTime t{};
  Message msg;
};

// Notifications only: replies (SADINFO, DONE, errors) never reach a monitor socket.
bool is_notification(const Body& b);

class Monitor {
 public:
  struct Callbacks {
    std::function<void(const Event&)> on_event;
    std::function<void(uint64_t losses_total)> on_loss;        // optional
    std::function<void(const Error&)> on_malformed;             // optional; counted anyway
    std::function<void(std::span<const uint8_t>)> on_datagram;  // optional: raw bytes (recording)
  };
  struct Stats {
    uint64_t datagrams = 0, events = 0, losses = 0, malformed = 0;
  };

  // `rcvbuf`: receive buffer in bytes; storms of ACQUIREs need more than the default.
  static Result<std::unique_ptr<Monitor>> start(EventLoop& loop, const NetnsRunner& in, Callbacks cb,
                                                int rcvbuf = 4 << 20);
  ~Monitor();
  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  const Stats& stats() const { return stats_; }
  // Reads what is queued now (the loop calls this when the socket is readable).
  void drain();

 private:
  Monitor(EventLoop& loop, XfrmSocket sock, Callbacks cb) : loop_(loop), sock_(std::move(sock)), cb_(std::move(cb)) {}
  EventLoop& loop_;
  XfrmSocket sock_;
  Callbacks cb_;
  Stats stats_;
};

}  // namespace ist::xfrm
