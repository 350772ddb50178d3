// EventLoop: timer order, cancel, fd readiness, handlers that change the loop, deadlines.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"

namespace ist {
namespace {

using namespace std::chrono_literals;

MonoTime in(std::chrono::milliseconds d) { return std::chrono::steady_clock::now() + d; }

TEST(EventLoop, TimersFireInDueOrder) {
  EventLoop loop;
  ASSERT_TRUE(loop.valid());
  std::vector<int> fired;
  loop.after(60ms, [&] { fired.push_back(3); });
  loop.after(0ms, [&] { fired.push_back(1); });
  loop.after(20ms, [&] { fired.push_back(2); });
  auto r = loop.run_until([&] { return fired.size() == 3; }, in(5s));
  ASSERT_TRUE(r);
  EXPECT_TRUE(*r);
  EXPECT_EQ(fired, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(loop.pending_timers(), 0u);
}

TEST(EventLoop, TimerDoesNotFireEarly) {
  EventLoop loop;
  auto t0 = std::chrono::steady_clock::now();
  MonoTime fired_at{};
  loop.after(50ms, [&] { fired_at = std::chrono::steady_clock::now(); });
  ASSERT_TRUE(loop.run_until([&] { return fired_at != MonoTime{}; }, in(5s)));
  EXPECT_GE(fired_at - t0, 50ms);
}

TEST(EventLoop, CancelledTimerNeverFires) {
  EventLoop loop;
  bool a = false, b = false;
  auto id = loop.after(10ms, [&] { a = true; });
  loop.after(40ms, [&] { b = true; });
  loop.cancel(id);
  loop.cancel(9999);  // unknown ids are ignored
  ASSERT_TRUE(loop.run_until([&] { return b; }, in(5s)));
  EXPECT_FALSE(a);
}

TEST(EventLoop, TimerMayCancelAnotherDueTimer) {
  EventLoop loop;
  bool second = false, done = false;
  EventLoop::TimerId victim = 0;
  loop.after(0ms, [&] { loop.cancel(victim); });
  victim = loop.after(0ms, [&] { second = true; });
  loop.after(30ms, [&] { done = true; });
  ASSERT_TRUE(loop.run_until([&] { return done; }, in(5s)));
  EXPECT_FALSE(second);
}

TEST(EventLoop, TimerAddedByATimerRunsLater) {
  EventLoop loop;
  int count = 0;
  std::function<void()> again = [&] {
    if (++count < 5) loop.after(1ms, again);
  };
  loop.after(0ms, again);
  ASSERT_TRUE(loop.run_until([&] { return count == 5; }, in(5s)));
  EXPECT_EQ(count, 5);
}

TEST(EventLoop, ReadableFdRunsItsHandler) {
  EventLoop loop;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  unique_fd rd(p[0]), wr(p[1]);
  std::string got;
  ASSERT_TRUE(loop.add_fd(rd.get(), EPOLLIN, [&](uint32_t ev) {
    EXPECT_TRUE(ev & EPOLLIN);
    char buf[16];
    auto n = ::read(rd.get(), buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<std::size_t>(n));
  }));
  loop.after(10ms, [&] { ASSERT_EQ(::write(wr.get(), "ping", 4), 4); });
  ASSERT_TRUE(loop.run_until([&] { return got == "ping"; }, in(5s)));
  EXPECT_EQ(got, "ping");
}

TEST(EventLoop, HandlerMayRemoveItsOwnFd) {
  EventLoop loop;
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  unique_fd rd(p[0]), wr(p[1]);
  int calls = 0;
  ASSERT_TRUE(loop.add_fd(rd.get(), EPOLLIN, [&](uint32_t) {
    ++calls;
    loop.remove_fd(rd.get());  // data stays unread: without removal it would fire again
  }));
  ASSERT_EQ(::write(wr.get(), "x", 1), 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(loop.run_once(10ms));
  EXPECT_EQ(calls, 1);
}

TEST(EventLoop, AddingAnInvalidFdIsAnError) {
  EventLoop loop;
  EXPECT_FALSE(loop.add_fd(-1, EPOLLIN, [](uint32_t) {}));
  EXPECT_FALSE(loop.modify_fd(12345, EPOLLIN));
}

TEST(EventLoop, RunUntilReturnsFalseAtTheDeadline) {
  EventLoop loop;
  auto t0 = std::chrono::steady_clock::now();
  auto r = loop.run_until([] { return false; }, in(80ms));
  auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_GE(took, 80ms);
  EXPECT_LT(took, 2s);
}

TEST(EventLoop, StopEndsRunUntil) {
  EventLoop loop;
  loop.after(10ms, [&] { loop.stop(); });
  auto t0 = std::chrono::steady_clock::now();
  auto r = loop.run_until([] { return false; }, in(5s));
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(EventLoop, RunOnceWaitsNoLongerThanMaxWait) {
  EventLoop loop;
  auto t0 = std::chrono::steady_clock::now();
  auto r = loop.run_once(30ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 0);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 29ms);
  EXPECT_LT(took, 1s);
}

}  // namespace
}  // namespace ist
