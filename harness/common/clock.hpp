#pragma once
// Time sources behind an interface, so logic that schedules or measures can be tested with
// a fake clock.
#include <chrono>
#include <cstdint>
#include <string>

namespace ist {

using MonoTime = std::chrono::steady_clock::time_point;
using Millis = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  MonoTime now() const override { return std::chrono::steady_clock::now(); }
  static const SteadyClock& instance() {
    static SteadyClock c;
    return c;
  }
};

class FakeClock final : public Clock {
 public:
  MonoTime now() const override { return t_; }
  void advance(std::chrono::nanoseconds d) { t_ += d; }

 private:
  MonoTime t_{};
};

inline double ms_between(MonoTime a, MonoTime b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Wall clock as "2026-11-23T18:41:07Z" (UTC, seconds) for reports and folder names.
std::string utc_timestamp(bool compact = false);
// An instant as RFC 3339 UTC: "2026-12-07T07:00:00Z", or "...:00.250Z" with milliseconds.
std::string utc_timestamp(std::chrono::system_clock::time_point t);

}  // namespace ist
