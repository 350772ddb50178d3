#pragma once
// Benchmarking metrics a run's summary derives from its timeseries (1 s wall buckets) and
// counts: the rekey rates, the peak SA counts in the harness's view and the SUT's own peaks
// from its vici stats. Pure functions: the unit tests feed them synthetic timelines.
#include <cstdint>
#include <optional>
#include <vector>

#include "reports/report.hpp"

namespace ist::reports {

// Fills summary.rekeys_per_s, peak_sas and sut_peak from the timeseries. Peaks are of the
// 1 s samples; means are over the run's span (the last point's t_s); an empty timeseries
// leaves zeros.
void summarize_timeline(const std::vector<TimeseriesPoint>& timeseries, Summary& summary);

// `count` events between the first and last at first_s and last_s: count / span, or count
// itself when they all fell in one instant (the convention of setup_rate_per_s).
double rate_over(uint64_t count, double first_s, double last_s);

// One sending tunnel's first packet, in ms since the run's start: the initiate of the attempt
// that set up its CHILD_SA, and the first probe that came back through it (none: nullopt).
struct FirstPacketTimes {
  double initiate_ms = 0;
  std::optional<double> first_echo_ms;
};

// Time to first packet over the tunnels that carried one (echo - initiate, never below 0);
// nullopt when none did.
std::optional<LatencySummary> summarize_first_packet(const std::vector<FirstPacketTimes>& tunnels);

// DoS resilience: the setups (established_s, seconds since the run's start) in the flood's
// window [flood_from_s, flood_to_s) against those in the equal window just before it. That
// window starts no earlier than the first initiate (peers that had not begun are no
// baseline), so its rate is over what is left of it; nothing left or nothing set up in it
// leaves the ratio null.
DosResilience dos_resilience(const std::vector<double>& established_s, double first_initiate_s, double flood_from_s,
                             double flood_to_s);

}  // namespace ist::reports
