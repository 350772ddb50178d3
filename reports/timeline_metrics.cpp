#include "reports/timeline_metrics.hpp"

#include <algorithm>

namespace ist::reports {

void summarize_timeline(const std::vector<TimeseriesPoint>& ts, Summary& s) {
  s.rekeys_per_s = {};
  s.peak_sas = {};
  s.sut_peak = {};
  if (ts.empty()) return;
  uint64_t ike = 0, child = 0;
  for (const auto& p : ts) {
    ike += p.ike_rekeys;
    child += p.child_rekeys;
    s.rekeys_per_s.ike_peak = std::max(s.rekeys_per_s.ike_peak, static_cast<double>(p.ike_rekeys));
    s.rekeys_per_s.child_peak = std::max(s.rekeys_per_s.child_peak, static_cast<double>(p.child_rekeys));
    s.peak_sas.ike_active = std::max(s.peak_sas.ike_active, p.ike_active);
    s.peak_sas.ike_pending = std::max(s.peak_sas.ike_pending, p.ike_pending);
    s.peak_sas.child_active = std::max(s.peak_sas.child_active, p.child_active);
    s.peak_sas.child_pending = std::max(s.peak_sas.child_pending, p.child_pending);
    if (p.sut) {
      s.sut_peak.half_open = std::max(s.sut_peak.half_open, p.sut->half_open);
      s.sut_peak.jobs_queued = std::max(s.sut_peak.jobs_queued, p.sut->jobs_queued);
    }
  }
  // Each point closes about one wall second since the run began; the last may close a
  // shorter one (the run's end), so the span is the last point's time.
  const double seconds = ts.back().t_s > 0 ? ts.back().t_s : static_cast<double>(ts.size());
  s.rekeys_per_s.ike_mean = static_cast<double>(ike) / seconds;
  s.rekeys_per_s.child_mean = static_cast<double>(child) / seconds;
}

double rate_over(uint64_t count, double first_s, double last_s) {
  const double span = last_s - first_s;
  return span > 0 ? static_cast<double>(count) / span : static_cast<double>(count);
}

}  // namespace ist::reports
