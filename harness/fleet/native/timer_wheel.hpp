#pragma once
// TimerWheel: a fixed set of numbered one-shot timers (e.g. 4 per peer) on a hashed wheel
// of 1 ms ticks, driven by ONE EventLoop timer. An armed timer costs 16 bytes inside the
// wheel and no allocation (the EventLoop's own timers cost a map node and a std::function
// each: ~150 bytes per timer at 65,536 peers). The loop timer is set for the next tick that
// holds a due timer, looked for at most one revolution ahead; with nothing near, the wheel
// wakes once per revolution (8.192 s) to look again, so an idle wheel does not spin.
#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

#include "common/event_loop.hpp"

namespace ist::native {

class TimerWheel {
 public:
  using Fire = std::function<void(uint32_t timer)>;
  static constexpr uint32_t kBuckets = 8192;
  static constexpr std::chrono::milliseconds kTick{1};

  // Timers are numbered 0 .. timers-1. `fire` runs for each expired timer (it may arm or
  // cancel any timer, also the one firing).
  TimerWheel(EventLoop& loop, uint32_t timers, Fire fire);
  ~TimerWheel();
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // Arms (or re-arms) a timer to fire at `when` (rounded up to the next tick).
  void arm(uint32_t timer, MonoTime when);
  void arm_after(uint32_t timer, std::chrono::nanoseconds delay) { arm(timer, loop_.clock().now() + delay); }
  void cancel(uint32_t timer);
  bool armed(uint32_t timer) const { return slots_[timer].due != kIdle; }
  uint32_t armed_count() const { return armed_; }
  // Cancels everything and drops the loop timer.
  void clear();

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr int64_t kIdle = INT64_MIN;
  struct Slot {
    int64_t due = kIdle;  // tick it fires at
    uint32_t prev = kNone, next = kNone;
  };
  int64_t tick_of(MonoTime t) const;
  MonoTime time_of(int64_t tick) const { return origin_ + kTick * tick; }
  void link(uint32_t timer);
  void unlink(uint32_t timer);
  void schedule();  // the loop timer at the next due tick (or one revolution on)
  void run_due();

  EventLoop& loop_;
  Fire fire_;
  MonoTime origin_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> heads_;  // per bucket: first timer or kNone
  int64_t done_tick_ = 0;        // every tick up to this one has been handled
  uint32_t armed_ = 0;
  EventLoop::TimerId loop_timer_ = 0;
  int64_t loop_timer_tick_ = 0;
  bool running_ = false;
};

}  // namespace ist::native
