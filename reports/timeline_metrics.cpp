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

std::optional<LatencySummary> summarize_first_packet(const std::vector<FirstPacketTimes>& tunnels) {
  std::vector<double> samples;
  for (const auto& t : tunnels)
    if (t.first_echo_ms) samples.push_back(std::max(0.0, *t.first_echo_ms - t.initiate_ms));
  if (samples.empty()) return std::nullopt;
  return summarize_latency(samples);
}

DosResilience dos_resilience(const std::vector<double>& established_s, double first_initiate_s, double flood_from_s,
                             double flood_to_s) {
  DosResilience d;
  d.flood_from_s = flood_from_s;
  d.flood_to_s = std::max(flood_from_s, flood_to_s);
  const double window = d.flood_to_s - d.flood_from_s;
  d.before_from_s = std::min(flood_from_s, std::max(flood_from_s - window, first_initiate_s));
  for (double t : established_s) {
    if (t >= d.before_from_s && t < flood_from_s) ++d.setups_before;
    if (t >= flood_from_s && t < d.flood_to_s) ++d.setups_during;
  }
  const double before_span = flood_from_s - d.before_from_s;
  if (before_span > 0) d.setup_rate_before_per_s = static_cast<double>(d.setups_before) / before_span;
  if (window > 0) d.setup_rate_during_per_s = static_cast<double>(d.setups_during) / window;
  if (d.setup_rate_before_per_s > 0) d.ratio = d.setup_rate_during_per_s / d.setup_rate_before_per_s;
  return d;
}

}  // namespace ist::reports
