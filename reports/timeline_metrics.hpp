#pragma once
// Benchmarking metrics a run's summary derives from its timeseries (1 s wall buckets) and
// counts: the rekey rates, the peak SA counts in the harness's view and the SUT's own peaks
// from its vici stats. Pure functions: the unit tests feed them synthetic timelines.
#include <cstdint>
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

}  // namespace ist::reports
