#include "common/event_loop.hpp"

#include <algorithm>
#include <cerrno>
#include <vector>

namespace ist {

EventLoop::EventLoop() : epfd_(::epoll_create1(EPOLL_CLOEXEC)) {}

Status EventLoop::add_fd(int fd, uint32_t events, FdHandler handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return Error::sys("epoll_ctl ADD");
  fds_[fd] = std::make_shared<FdEntry>(FdEntry{std::move(handler)});
  return ok();
}

Status EventLoop::modify_fd(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return Error::sys("epoll_ctl MOD");
  return ok();
}

void EventLoop::remove_fd(int fd) {
  if (fds_.erase(fd)) ::epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::at(MonoTime when, std::function<void()> cb) {
  TimerId id = next_timer_++;
  timer_order_.emplace(when, id);
  timers_.emplace(id, std::make_pair(when, std::move(cb)));
  return id;
}

EventLoop::TimerId EventLoop::after(std::chrono::nanoseconds delay, std::function<void()> cb) {
  return at(clock_->now() + std::chrono::duration_cast<MonoTime::duration>(delay), std::move(cb));
}

void EventLoop::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  auto range = timer_order_.equal_range(it->second.first);
  for (auto o = range.first; o != range.second; ++o) {
    if (o->second == id) {
      timer_order_.erase(o);
      break;
    }
  }
  timers_.erase(it);
}

Result<int> EventLoop::run_once(std::chrono::milliseconds max_wait) {
  auto now = clock_->now();
  auto wait = max_wait;
  if (!timer_order_.empty()) {
    auto due = timer_order_.begin()->first;
    auto until = std::chrono::ceil<std::chrono::milliseconds>(due - now);
    wait = std::clamp(until, std::chrono::milliseconds(0), max_wait);
  }
  epoll_event evs[64];
  int n = ::epoll_wait(epfd_.get(), evs, 64, static_cast<int>(wait.count()));
  if (n < 0) {
    if (errno == EINTR) return 0;
    return Error::sys("epoll_wait");
  }
  int ran = 0;
  for (int i = 0; i < n; ++i) {
    auto it = fds_.find(evs[i].data.fd);
    if (it == fds_.end()) continue;  // removed by an earlier handler in this batch
    auto entry = it->second;         // keeps the handler alive if it removes itself
    entry->handler(evs[i].events);
    ++ran;
  }
  // Timers due now; ones added while running wait for the next iteration.
  now = clock_->now();
  std::vector<TimerId> due;
  for (auto it = timer_order_.begin(); it != timer_order_.end() && it->first <= now; ++it)
    due.push_back(it->second);
  for (TimerId id : due) {
    auto it = timers_.find(id);
    if (it == timers_.end()) continue;  // cancelled by an earlier timer
    auto cb = std::move(it->second.second);
    cancel(id);
    cb();
    ++ran;
  }
  return ran;
}

Result<bool> EventLoop::run_until(const std::function<bool()>& done, MonoTime deadline) {
  stopped_ = false;
  while (!stopped_) {
    if (done()) return true;
    auto now = clock_->now();
    if (now >= deadline) return false;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now);
    IST_TRY(run_once(std::min(left, std::chrono::milliseconds(1000))));
  }
  return done();
}

}  // namespace ist
