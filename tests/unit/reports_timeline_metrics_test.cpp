// The benchmarking metrics a summary derives from its timeseries, on synthetic timelines:
// rekey rates (peak and mean per wall second), peak SA counts, the SUT's vici peaks, and the
// rate convention of tunnel_attempts_per_s, time to first packet over synthetic tunnels, DoS
// resilience over a synthetic run with a flood in it. Also that they reach report.json and back.
#include <gtest/gtest.h>

#include "reports/report.hpp"
#include "reports/timeline_metrics.hpp"

namespace ist::reports {
namespace {

TimeseriesPoint second(double t, uint64_t ike_rekeys, uint64_t child_rekeys, uint64_t ike_active = 0,
                       uint64_t ike_pending = 0, uint64_t child_active = 0, uint64_t child_pending = 0) {
  TimeseriesPoint p;
  p.t_s = t;
  p.ike_rekeys = ike_rekeys;
  p.child_rekeys = child_rekeys;
  p.ike_active = ike_active;
  p.ike_pending = ike_pending;
  p.child_active = child_active;
  p.child_pending = child_pending;
  return p;
}

TEST(TimelineMetrics, ARekeyWaveGivesItsPeakAndTheRunsMean) {
  // Ten seconds; a CHILD rekey wave of 40 + 60 + 20 in seconds 5-7, IKE rekeys 3 in second 8.
  std::vector<TimeseriesPoint> ts;
  for (int t = 1; t <= 10; ++t) ts.push_back(second(t, t == 8 ? 3 : 0, t == 5 ? 40 : t == 6 ? 60 : t == 7 ? 20 : 0));
  Summary s;
  summarize_timeline(ts, s);
  EXPECT_DOUBLE_EQ(s.rekeys_per_s.child_peak, 60);
  EXPECT_DOUBLE_EQ(s.rekeys_per_s.child_mean, 12);  // 120 over 10 s
  EXPECT_DOUBLE_EQ(s.rekeys_per_s.ike_peak, 3);
  EXPECT_DOUBLE_EQ(s.rekeys_per_s.ike_mean, 0.3);
  // A run that ended 0.5 s into its last second: the mean is over 10.5 s, not 11 buckets.
  ts.push_back(second(10.5, 0, 6));
  summarize_timeline(ts, s);
  EXPECT_DOUBLE_EQ(s.rekeys_per_s.child_mean, 126 / 10.5);
}

TEST(TimelineMetrics, PeaksOfActiveAndPendingSasAreTakenSeparately) {
  // Connect: pending climbs then drains while active climbs; a teardown at the end.
  std::vector<TimeseriesPoint> ts = {second(1, 0, 0, 10, 90, 5, 20), second(2, 0, 0, 80, 40, 70, 35),
                                     second(3, 0, 0, 120, 0, 118, 2), second(4, 0, 0, 0, 0, 0, 0)};
  Summary s;
  summarize_timeline(ts, s);
  EXPECT_EQ(s.peak_sas.ike_active, 120u);
  EXPECT_EQ(s.peak_sas.ike_pending, 90u);
  EXPECT_EQ(s.peak_sas.child_active, 118u);
  EXPECT_EQ(s.peak_sas.child_pending, 35u);
}

TEST(TimelineMetrics, SutPeaksComeFromTheSecondsItAnswered) {
  std::vector<TimeseriesPoint> ts(4);
  ts[0].sut = SutSample{10, 7, 2, 14};
  ts[1].sut = std::nullopt;  // no answer in time: not a zero
  ts[2].sut = SutSample{50, 31, 9, 0};
  ts[3].sut = SutSample{60, 0, 40, 16};
  Summary s;
  summarize_timeline(ts, s);
  EXPECT_EQ(s.sut_peak.half_open, 31u);
  EXPECT_EQ(s.sut_peak.jobs_queued, 40u);
}

TEST(TimelineMetrics, AnEmptyTimelineLeavesZeros) {
  Summary s;
  s.peak_sas.ike_active = 5;  // stale values are reset
  summarize_timeline({}, s);
  EXPECT_EQ(s.peak_sas.ike_active, 0u);
  EXPECT_DOUBLE_EQ(s.rekeys_per_s.child_mean, 0);
  EXPECT_EQ(s.sut_peak.half_open, 0u);
}

TEST(TimelineMetrics, AttemptRateIsCountOverSpanLikeTheSetupRate) {
  EXPECT_DOUBLE_EQ(rate_over(1000, 0.5, 2.5), 500);
  EXPECT_DOUBLE_EQ(rate_over(1, 3.0, 3.0), 1);  // one instant: the count itself
  EXPECT_DOUBLE_EQ(rate_over(0, 0, 0), 0);
}

TEST(TimelineMetrics, TimeToFirstPacketIsFromTheInitiateToTheFirstProbeBack) {
  // Five sending tunnels: three came back 12, 30 and 8 ms after their initiates (one of them
  // retried, so its initiate is the second attempt's), one carried nothing back, and a clock
  // step may not make a negative time.
  std::vector<FirstPacketTimes> tunnels = {
      {100, 112}, {250, 280}, {1200.5, 1208.5}, {400, std::nullopt}, {500, 499.9}};
  auto f = summarize_first_packet(tunnels);
  ASSERT_TRUE(f.has_value());
  EXPECT_DOUBLE_EQ(f->max, 30);
  EXPECT_DOUBLE_EQ(f->p50, 8);  // nearest rank over {0, 8, 12, 30}
  EXPECT_DOUBLE_EQ(f->p99, 30);
  // None carried a packet (or there was no traffic): no summary at all, not zeros.
  EXPECT_FALSE(summarize_first_packet({{100, std::nullopt}}).has_value());
  EXPECT_FALSE(summarize_first_packet({}).has_value());
}

// Setups at `rate` per second from `from` to `to` (seconds since the run's start).
std::vector<double> setups(double from, double to, double rate) {
  std::vector<double> out;
  for (int i = 0; from + i / rate < to - 1e-9; ++i) out.push_back(from + i / rate);
  return out;
}

TEST(TimelineMetrics, DosResilienceComparesTheFloodsWindowWithTheOneBeforeIt) {
  // Peers arrive from 0.5 s; 10 setups/s until the flood at 4 s, 2/s during its 3 s, 10/s after.
  auto est = setups(0.5, 4, 10);
  for (double t : setups(4, 7, 2)) est.push_back(t);
  for (double t : setups(7, 9, 10)) est.push_back(t);
  DosResilience d = dos_resilience(est, 0.5, 4, 7);
  EXPECT_DOUBLE_EQ(d.before_from_s, 1);  // the 3 s before the flood
  EXPECT_EQ(d.setups_before, 30u);
  EXPECT_EQ(d.setups_during, 6u);
  EXPECT_DOUBLE_EQ(d.setup_rate_before_per_s, 10);
  EXPECT_DOUBLE_EQ(d.setup_rate_during_per_s, 2);
  ASSERT_TRUE(d.ratio.has_value());
  EXPECT_DOUBLE_EQ(*d.ratio, 0.2);
}

TEST(TimelineMetrics, DosResilienceBeforeWindowStartsNoEarlierThanTheFirstInitiate) {
  // The flood starts 2 s after the first initiate and lasts 5 s: the 2 s left are the baseline.
  auto est = setups(1, 3, 8);
  for (double t : setups(3, 8, 8)) est.push_back(t);
  DosResilience d = dos_resilience(est, 1, 3, 8);
  EXPECT_DOUBLE_EQ(d.before_from_s, 1);
  EXPECT_EQ(d.setups_before, 16u);
  EXPECT_DOUBLE_EQ(d.setup_rate_before_per_s, 8);
  EXPECT_DOUBLE_EQ(d.setup_rate_during_per_s, 8);
  EXPECT_DOUBLE_EQ(*d.ratio, 1);
}

TEST(TimelineMetrics, DosResilienceWithoutABaselineHasNoRatio) {
  // The flood starts with the first initiate (the default): nothing before it to compare.
  DosResilience d = dos_resilience(setups(0, 3, 5), 0, 0, 3);
  EXPECT_EQ(d.setups_before, 0u);
  EXPECT_DOUBLE_EQ(d.setup_rate_before_per_s, 0);
  EXPECT_EQ(d.setups_during, 15u);
  EXPECT_FALSE(d.ratio.has_value());
  // A window before that saw no setup (all starved) is no baseline either.
  d = dos_resilience({5.5, 6}, 0, 5, 8);
  EXPECT_EQ(d.setups_before, 0u);
  EXPECT_FALSE(d.ratio.has_value());
}

TEST(TimelineMetrics, FirstPacketAndDosResilienceAreAbsentUnlessSetAndRoundTrip) {
  Report r;
  RunReport run;
  run.timeseries.push_back(second(1, 0, 0));
  run.timeseries[0].sut_cpu_s = 0.25;
  r.runs.push_back(run);
  auto j = to_json(r);
  EXPECT_FALSE(j["runs"][0]["summary"].contains("time_to_first_packet_ms"));
  EXPECT_FALSE(j["runs"][0]["summary"].contains("dos_resilience"));
  EXPECT_EQ(j["runs"][0]["timeseries"][0]["sut_cpu_s"], 0.25);
  r.runs[0].summary.time_to_first_packet_ms = LatencySummary{8, 20, 30, 31};
  r.runs[0].summary.dos_resilience = dos_resilience({0.5}, 0, 0, 3);  // no ratio
  j = to_json(r);
  const auto& sj = j["runs"][0]["summary"];
  EXPECT_EQ(sj["time_to_first_packet_ms"]["p99"], 30);
  EXPECT_TRUE(sj["dos_resilience"]["ratio"].is_null());
  EXPECT_EQ(sj["dos_resilience"]["setups_during"], 1);
  auto back = from_json(j);
  ASSERT_TRUE(back.ok());
  const auto& bs = back->runs[0].summary;
  ASSERT_TRUE(bs.time_to_first_packet_ms && bs.dos_resilience);
  EXPECT_DOUBLE_EQ(bs.time_to_first_packet_ms->max, 31);
  EXPECT_FALSE(bs.dos_resilience->ratio.has_value());
  EXPECT_DOUBLE_EQ(back->runs[0].timeseries[0].sut_cpu_s, 0.25);
}

TEST(TimelineMetrics, TheNewFieldsRoundTripThroughReportJson) {
  Report r;
  RunReport run;
  run.summary.tunnel_attempts_per_s = 480.5;
  run.summary.rekeys_per_s = {2, 0.5, 60, 12};
  run.summary.peak_sas = {120, 90, 118, 35};
  run.summary.sut_peak = {31, 40};
  run.timeseries.push_back(second(1, 3, 40));
  run.timeseries[0].attempts = 250;
  r.runs.push_back(run);
  auto j = to_json(r);
  const auto& sj = j["runs"][0]["summary"];
  EXPECT_EQ(sj["tunnel_attempts_per_s"], 480.5);
  EXPECT_EQ(sj["rekeys_per_s"]["child_peak"], 60);
  EXPECT_EQ(sj["peak_sas"]["ike_pending"], 90);
  EXPECT_EQ(sj["sut_peak"]["jobs_queued"], 40);
  EXPECT_EQ(j["runs"][0]["timeseries"][0]["attempts"], 250);
  auto back = from_json(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->runs[0].summary.peak_sas.child_pending, 35u);
  EXPECT_DOUBLE_EQ(back->runs[0].summary.rekeys_per_s.ike_mean, 0.5);
  EXPECT_EQ(back->runs[0].timeseries[0].child_rekeys, 40u);
}

}  // namespace
}  // namespace ist::reports
