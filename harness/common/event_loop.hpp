#pragma once
// One epoll loop with fd handlers and one-shot timers. No busy waiting: run_once() sleeps
// in epoll_wait until an fd is ready or the next timer is due. Not thread-safe: one loop
// per thread; handlers may add or remove fds and timers (also their own) while running.
#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <unordered_map>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ist {

class EventLoop {
 public:
  using FdHandler = std::function<void(uint32_t events)>;
  using TimerId = uint64_t;

  EventLoop();  // check valid(); epoll_create1 fails only when out of fds
  bool valid() const { return epfd_.valid(); }

  Status add_fd(int fd, uint32_t events, FdHandler handler);
  Status modify_fd(int fd, uint32_t events);
  void remove_fd(int fd);

  TimerId at(MonoTime when, std::function<void()> cb);
  TimerId after(std::chrono::nanoseconds delay, std::function<void()> cb);
  void cancel(TimerId id);
  std::size_t pending_timers() const { return timers_.size(); }

  // Waits at most max_wait for fds or timers, then runs what is due. Returns the number of
  // handlers and timers run.
  Result<int> run_once(std::chrono::milliseconds max_wait);
  // Runs until done() is true (checked after every iteration), stop() is called or
  // `deadline` passes. Returns true when done() became true.
  Result<bool> run_until(const std::function<bool()>& done, MonoTime deadline);
  void stop() { stopped_ = true; }

  const Clock& clock() const { return *clock_; }

 private:
  struct FdEntry {
    FdHandler handler;
  };
  unique_fd epfd_;
  std::unordered_map<int, std::shared_ptr<FdEntry>> fds_;
  std::multimap<MonoTime, TimerId> timer_order_;
  std::unordered_map<TimerId, std::pair<MonoTime, std::function<void()>>> timers_;
  TimerId next_timer_ = 1;
  bool stopped_ = false;
  const Clock* clock_ = &SteadyClock::instance();
};

}  // namespace ist
