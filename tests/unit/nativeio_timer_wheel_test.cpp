// TimerWheel on a real EventLoop: timers fire in due order and never early, cancel and
// re-arm (also from inside a firing timer) do what they say, and a timer that keeps
// re-arming itself for "now" does not starve the loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "fleet/native/timer_wheel.hpp"

namespace ist::native {
namespace {

using namespace std::chrono_literals;

struct Fired {
  uint32_t timer;
  MonoTime at;
};

TEST(TimerWheel, FiresEachArmedTimerOnceInDueOrderAndNeverEarly) {
  EventLoop loop;
  std::vector<Fired> fired;
  TimerWheel wheel(loop, 200, [&](uint32_t t) { fired.push_back({t, loop.clock().now()}); });
  const MonoTime start = loop.clock().now();
  std::mt19937 rng(7);
  std::vector<MonoTime> due(200);
  for (uint32_t t = 0; t < 200; ++t) {
    due[t] = start + std::chrono::milliseconds(rng() % 150);
    wheel.arm(t, due[t]);
  }
  EXPECT_EQ(wheel.armed_count(), 200u);
  (void)loop.run_until([&] { return fired.size() == 200; }, start + 3s);
  ASSERT_EQ(fired.size(), 200u);
  for (size_t i = 0; i < fired.size(); ++i) {
    EXPECT_GE(fired[i].at, due[fired[i].timer]) << "timer " << fired[i].timer << " fired early";
    if (i) {  // same-tick timers may fire in any order
      EXPECT_LE(std::chrono::floor<std::chrono::milliseconds>(due[fired[i - 1].timer]),
                std::chrono::ceil<std::chrono::milliseconds>(due[fired[i].timer]));
    }
  }
  EXPECT_EQ(wheel.armed_count(), 0u);
}

TEST(TimerWheel, CancelAndRearm) {
  struct Case {
    const char* name;
    std::function<void(TimerWheel&)> act;
    std::vector<uint32_t> want;  // fire order
  } cases[] = {
      {"cancelled never fires", [](TimerWheel& w) { w.cancel(1); }, {0, 2}},
      {"re-armed earlier moves up", [](TimerWheel& w) { w.arm_after(2, 1ms); }, {2, 0, 1}},
      {"re-armed later moves down", [](TimerWheel& w) { w.arm_after(0, 80ms); }, {1, 2, 0}},
      {"cancel of an idle timer is harmless", [](TimerWheel& w) { w.cancel(3); }, {0, 1, 2}},
      {"clear drops everything", [](TimerWheel& w) { w.clear(); }, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EventLoop loop;
    std::vector<uint32_t> order;
    TimerWheel wheel(loop, 4, [&](uint32_t t) { order.push_back(t); });
    wheel.arm_after(0, 10ms);
    wheel.arm_after(1, 30ms);
    wheel.arm_after(2, 50ms);
    c.act(wheel);
    (void)loop.run_until([] { return false; }, loop.clock().now() + 150ms);
    EXPECT_EQ(order, c.want);
    EXPECT_EQ(wheel.armed_count(), 0u);
  }
}

TEST(TimerWheel, FireMayRearmAndCancelWithoutStarvingTheLoop) {
  EventLoop loop;
  int self_rearms = 0;
  std::vector<uint32_t> order;
  TimerWheel* w = nullptr;
  TimerWheel wheel(loop, 3, [&](uint32_t t) {
    order.push_back(t);
    if (t == 0 && ++self_rearms < 5) w->arm(0, loop.clock().now());  // "now": the next tick, not this pass
    if (t == 1) w->cancel(2);                                           // cancels a later timer
  });
  w = &wheel;
  wheel.arm_after(0, 2ms);
  wheel.arm_after(1, 2ms);
  wheel.arm_after(2, 40ms);
  auto r = loop.run_once(100ms);  // one pass fires each due timer once
  ASSERT_TRUE(r.ok());
  (void)loop.run_until([] { return false; }, loop.clock().now() + 100ms);
  EXPECT_EQ(self_rearms, 5);
  EXPECT_EQ(std::count(order.begin(), order.end(), 0u), 5);
  EXPECT_EQ(std::count(order.begin(), order.end(), 2u), 0);
}

}  // namespace
}  // namespace ist::native
