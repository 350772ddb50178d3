#pragma once
// When the k-th peer of a connect phase is initiated, relative to the phase start.
// rate: evenly spaced; burst: `burst_size` peers at once, the next group one second later
// (0 = everyone at once); ramp: the rate grows linearly from `from` to `to` over `over`,
// then stays at `to`.
#include <chrono>
#include <cstdint>

namespace ist::fleet {

struct Arrival {
  enum class Kind { rate, burst, ramp };
  Kind kind = Kind::rate;
  double rate_per_s = 100;  // rate
  double from_per_s = 0;    // ramp
  double to_per_s = 0;      // ramp
  std::chrono::milliseconds over{0};  // ramp
  uint64_t burst_size = 0;            // burst: peers per group; 0 = all at once

  static Arrival at_rate(double per_s) { return {Kind::rate, per_s, 0, 0, {}, 0}; }
  static Arrival burst(uint64_t size = 0) { return {Kind::burst, 0, 0, 0, {}, size}; }
  static Arrival ramp(double from, double to, std::chrono::milliseconds over) {
    return {Kind::ramp, 0, from, to, over, 0};
  }
};

// Offset of the k-th initiation (k from 0) after the phase start.
std::chrono::nanoseconds arrival_offset(const Arrival& a, uint64_t k);

}  // namespace ist::fleet
