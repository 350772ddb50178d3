#include "fleet/arrival.hpp"

#include <cmath>

namespace ist::fleet {

std::chrono::nanoseconds arrival_offset(const Arrival& a, uint64_t k) {
  using namespace std::chrono;
  const double n = static_cast<double>(k);
  switch (a.kind) {
    case Arrival::Kind::burst:
      if (a.burst_size == 0) return nanoseconds(0);
      return seconds(static_cast<int64_t>(k / a.burst_size));
    case Arrival::Kind::rate:
      return nanoseconds(static_cast<int64_t>(n / a.rate_per_s * 1e9));
    case Arrival::Kind::ramp: {
      // Cumulative arrivals by time t during the ramp: from*t + (to-from)*t^2/(2T).
      const double T = duration<double>(a.over).count();
      const double f = a.from_per_s, g = a.to_per_s;
      const double ramp_total = (f + g) / 2.0 * T;
      if (T <= 0 || n >= ramp_total) {
        double after = g > 0 ? (n - ramp_total) / g : 0;
        return nanoseconds(static_cast<int64_t>((T + after) * 1e9));
      }
      const double a2 = (g - f) / (2.0 * T);
      double t;
      if (std::abs(a2) < 1e-12) {
        t = f > 0 ? n / f : 0;
      } else {
        // Solve a2*t^2 + f*t - n = 0 for the positive root.
        t = (-f + std::sqrt(f * f + 4.0 * a2 * n)) / (2.0 * a2);
      }
      return nanoseconds(static_cast<int64_t>(t * 1e9));
    }
  }
  return nanoseconds(0);
}

}  // namespace ist::fleet
