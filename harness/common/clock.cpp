#include "common/clock.hpp"

#include <cstdio>
#include <ctime>

namespace ist {

std::string utc_timestamp(bool compact) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, compact ? "%Y%m%dT%H%M%SZ" : "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string utc_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto ms = duration_cast<milliseconds>(t - secs).count();
  const std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  if (ms != 0) n += static_cast<std::size_t>(std::snprintf(buf + n, sizeof buf - n, ".%03lld", static_cast<long long>(ms)));
  std::snprintf(buf + n, sizeof buf - n, "Z");
  return buf;
}

}  // namespace ist
