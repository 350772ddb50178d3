#include "fleet/native/timer_wheel.hpp"

namespace ist::native {

TimerWheel::TimerWheel(EventLoop& loop, uint32_t timers, Fire fire)
    : loop_(loop), fire_(std::move(fire)), origin_(loop.clock().now()), slots_(timers), heads_(kBuckets, kNone) {}

TimerWheel::~TimerWheel() { clear(); }

int64_t TimerWheel::tick_of(MonoTime t) const {
  auto since = std::chrono::ceil<std::chrono::milliseconds>(t - origin_);
  return since.count() / kTick.count();
}

void TimerWheel::link(uint32_t timer) {
  Slot& s = slots_[timer];
  uint32_t& head = heads_[static_cast<uint64_t>(s.due) % kBuckets];
  s.prev = kNone;
  s.next = head;
  if (head != kNone) slots_[head].prev = timer;
  head = timer;
}

void TimerWheel::unlink(uint32_t timer) {
  Slot& s = slots_[timer];
  if (s.prev != kNone)
    slots_[s.prev].next = s.next;
  else
    heads_[static_cast<uint64_t>(s.due) % kBuckets] = s.next;
  if (s.next != kNone) slots_[s.next].prev = s.prev;
  s.prev = s.next = kNone;
}

void TimerWheel::arm(uint32_t timer, MonoTime when) {
  if (armed(timer)) {
    unlink(timer);
    --armed_;
  }
  // Never in a tick already handled: a due time in the past fires on the next tick.
  slots_[timer].due = std::max(tick_of(when), done_tick_ + 1);
  link(timer);
  ++armed_;
  if (running_) return;  // run_due() schedules when it is done
  if (!loop_timer_) {
    schedule();
  } else if (slots_[timer].due < loop_timer_tick_) {
    // Earlier than the earliest due tick known: it is the next one, no need to look.
    loop_.cancel(loop_timer_);
    loop_timer_tick_ = slots_[timer].due;
    loop_timer_ = loop_.at(time_of(loop_timer_tick_), [this] {
      loop_timer_ = 0;
      run_due();
    });
  }
}

void TimerWheel::cancel(uint32_t timer) {
  if (!armed(timer)) return;
  unlink(timer);
  slots_[timer].due = kIdle;
  --armed_;
  // The loop timer stays: waking once for nothing is cheaper than finding the next tick.
}

void TimerWheel::clear() {
  for (uint32_t t = 0; t < slots_.size(); ++t) slots_[t] = Slot{};
  std::fill(heads_.begin(), heads_.end(), kNone);
  armed_ = 0;
  if (loop_timer_) loop_.cancel(loop_timer_);
  loop_timer_ = 0;
}

void TimerWheel::schedule() {
  if (loop_timer_) loop_.cancel(loop_timer_);
  loop_timer_ = 0;
  if (armed_ == 0) return;
  // The first tick ahead whose bucket holds a timer due at that very tick (others in the
  // bucket belong to later revolutions).
  int64_t next = done_tick_ + kBuckets;
  for (int64_t t = done_tick_ + 1; t <= done_tick_ + kBuckets; ++t) {
    bool found = false;
    for (uint32_t i = heads_[static_cast<uint64_t>(t) % kBuckets]; i != kNone; i = slots_[i].next) {
      if (slots_[i].due <= t) {
        found = true;
        break;
      }
    }
    if (found) {
      next = t;
      break;
    }
  }
  loop_timer_tick_ = next;
  loop_timer_ = loop_.at(time_of(next), [this] {
    loop_timer_ = 0;
    run_due();
  });
}

void TimerWheel::run_due() {
  running_ = true;
  // The last tick whose time has come (a later tick's timers would fire up to 1 ms early).
  const int64_t now = std::chrono::floor<std::chrono::milliseconds>(loop_.clock().now() - origin_).count();
  // At most one revolution of buckets to walk (the rest is the same buckets again).
  int64_t from = std::max(done_tick_ + 1, now - static_cast<int64_t>(kBuckets) + 1);
  // Timers armed by fire() land after `now`: each pass ends.
  done_tick_ = std::max(done_tick_, now);
  for (int64_t t = from; t <= now; ++t) {
    uint32_t i = heads_[static_cast<uint64_t>(t) % kBuckets];
    while (i != kNone) {
      uint32_t next = slots_[i].next;
      if (slots_[i].due <= now) {
        unlink(i);
        slots_[i].due = kIdle;
        --armed_;
        fire_(i);
        // fire() may have unlinked `next` (cancel or re-arm): restart the bucket.
        next = heads_[static_cast<uint64_t>(t) % kBuckets];
      }
      i = next;
    }
  }
  running_ = false;
  schedule();
}

}  // namespace ist::native
