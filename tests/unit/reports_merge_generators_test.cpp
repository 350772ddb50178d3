// merge of generator reports: every generator ran every point with its own block of peers,
// so the points are folded: sums, codes, percentiles from the union of the samples, the
// timeseries on the shared clock, the gateway's own counts once.
#include <gtest/gtest.h>

#include "reports/merge_generators.hpp"

using namespace ist::reports;

namespace {

Report generator(uint32_t i, uint32_t n, std::vector<double> samples, std::string start_at = "2026-12-07T06:30:00Z") {
  Report r;
  r.run_id = "gen" + std::to_string(i);
  r.backend = "libipsec";
  r.started_at = "2026-12-07T06:29:5" + std::to_string(i) + "Z";
  r.scenario = {{"name", "target"}, {"peers", {{"count", 1000}}}};
  r.generator = GeneratorInfo{i, n, std::move(start_at), 3.0 * i, (i - 1) * 500ull, 500, "198.19.0.0/18", ""};
  RunReport run;
  run.folder = "run-1";
  run.summary.peers = 500;
  run.summary.established = 500 - i;
  run.summary.failed = i;
  run.summary.setup_rate_per_s = 100;
  run.summary.tunnel_attempts_per_s = 250;
  run.summary.peak_sas.ike_active = 200;  // each generator's own peak; the merge derives the whole's
  run.summary.sut_ike_sas_at_connect_end = 997;  // the gateway's own count: the same gateway
  run.summary.rekeys.child = 10 * i;
  run.codes["ERROR_IPSEC_IKE_MM_LIMIT"] = {i, 2 * i};
  run.setup_latency_samples = std::move(samples);
  for (int t = 0; t < 3; ++t) {
    TimeseriesPoint p;
    p.t_s = t + 0.01 * i;  // each generator's ticks, a little apart on the shared clock
    p.ike_active = 100 * t;
    p.established_total = 100 * t;
    p.child_rekeys = 5 * t * i;
    p.attempts = 50;
    if (i == 1) p.sut = SutSample{static_cast<uint64_t>(100 * t), 3, 0, 16};
    run.timeseries.push_back(p);
  }
  run.peers.push_back({"p" + std::to_string((i - 1) * 500), "198.19.0.1", "established", {}});
  if (i == 2) run.outcome = "sut-unresponsive";
  r.runs.push_back(run);
  return r;
}

}  // namespace

TEST(MergeGenerators, FoldsEachPointAcrossGenerators) {
  auto m = merge_generator_reports({{generator(2, 2, {30, 40, 50}), "g2"}, {generator(1, 2, {10, 20}), "g1"}},
                                   "ikestorm merge");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  ASSERT_EQ(m->runs.size(), 1u);
  const RunReport& run = m->runs[0];
  EXPECT_EQ(run.summary.peers, 1000u);
  EXPECT_EQ(run.summary.established, 997u);
  EXPECT_DOUBLE_EQ(run.summary.established_ratio, 0.997);
  EXPECT_EQ(run.summary.failed, 3u);
  EXPECT_DOUBLE_EQ(run.summary.setup_rate_per_s, 200);
  EXPECT_EQ(run.summary.sut_ike_sas_at_connect_end, 997u);  // once, not summed
  EXPECT_EQ(run.summary.rekeys.child, 30u);
  EXPECT_EQ(run.codes.at("ERROR_IPSEC_IKE_MM_LIMIT").peers, 3u);
  EXPECT_EQ(run.codes.at("ERROR_IPSEC_IKE_MM_LIMIT").attempts, 6u);
  // Percentiles of the union of the samples {10, 20, 30, 40, 50}.
  EXPECT_DOUBLE_EQ(run.summary.setup_latency_ms.p50, 30);
  EXPECT_DOUBLE_EQ(run.summary.setup_latency_ms.p99, 50);
  EXPECT_EQ(run.setup_latency_samples.size(), 5u);
  // Per second on the shared clock: peers' counts summed, the gateway's sample once.
  ASSERT_EQ(run.timeseries.size(), 3u);
  EXPECT_EQ(run.timeseries[2].ike_active, 400u);
  ASSERT_TRUE(run.timeseries[2].sut.has_value());
  EXPECT_EQ(run.timeseries[2].sut->ike_sas, 200u);
  EXPECT_EQ(run.peers.size(), 2u);
  EXPECT_EQ(run.outcome, "sut-unresponsive");  // the worst of the generators'
  // One row per generator, in generator order, and both listed as sources.
  ASSERT_EQ(m->generators.size(), 2u);
  EXPECT_EQ(m->generators[0].generator.index, 1u);
  EXPECT_EQ(m->generators[0].source, "g1");
  EXPECT_EQ(m->generators[1].established, 498u);
  EXPECT_DOUBLE_EQ(m->generators[1].generator.start_skew_ms, 6);
  EXPECT_EQ(m->run_id, "gen1+gen2");
  EXPECT_EQ(m->started_at, "2026-12-07T06:29:51Z");
  EXPECT_FALSE(m->generator.has_value());
  // The merged report reads back as it was written.
  auto back = from_json(to_json(*m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->generators.size(), 2u);
}

TEST(MergeGenerators, BenchmarkingMetricsComeFromTheFoldedSeconds) {
  auto m = merge_generator_reports({{generator(1, 2, {10}), "g1"}, {generator(2, 2, {20}), "g2"}}, "ikestorm merge");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  const RunReport& run = m->runs[0];
  EXPECT_DOUBLE_EQ(run.summary.tunnel_attempts_per_s, 500);  // concurrent generators add up
  EXPECT_EQ(run.timeseries[2].child_rekeys, 30u);             // 10 + 20 in the same second
  EXPECT_EQ(run.timeseries[1].attempts, 100u);
  EXPECT_DOUBLE_EQ(run.summary.rekeys_per_s.child_peak, 30);
  EXPECT_DOUBLE_EQ(run.summary.rekeys_per_s.child_mean, 45.0 / 2);  // 0 + 15 + 30 over 2 s
  EXPECT_EQ(run.summary.peak_sas.ike_active, 400u);  // the whole's peak, not the generators' summed
  EXPECT_EQ(run.summary.sut_peak.half_open, 3u);     // the gateway's own sample, once
}

TEST(MergeGenerators, RefusesReportsOfDifferentRuns) {
  auto other_start = merge_generator_reports(
      {{generator(1, 2, {1}), "g1"}, {generator(2, 2, {1}, "2026-12-07T06:31:00Z"), "g2"}}, "m");
  ASSERT_FALSE(other_start.ok());
  EXPECT_NE(other_start.error().describe().find("started at 2026-12-07T06:31:00Z"), std::string::npos);
  Report changed = generator(2, 2, {1});
  changed.scenario["peers"]["count"] = 2000;
  auto other_scenario = merge_generator_reports({{generator(1, 2, {1}), "g1"}, {changed, "g2"}}, "m");
  ASSERT_FALSE(other_scenario.ok());
  EXPECT_NE(other_scenario.error().describe().find("different scenario"), std::string::npos);
  Report own_local = generator(2, 2, {1});  // each generator's own target.local is the same run
  Report first = generator(1, 2, {1});
  first.scenario["target"] = {{"address", "198.18.100.1"}, {"local", "198.18.100.50/24"}, {"interface", "eth1"}};
  own_local.scenario["target"] = {{"address", "198.18.100.1"}, {"local", "198.18.100.51/24"}, {"interface", "ens4"}};
  EXPECT_TRUE(merge_generator_reports({{first, "g1"}, {own_local, "g2"}}, "m").ok());
  own_local.scenario["target"]["address"] = "198.18.100.2";
  EXPECT_FALSE(merge_generator_reports({{first, "g1"}, {own_local, "g2"}}, "m").ok());
  auto twice = merge_generator_reports({{generator(1, 2, {1}), "a"}, {generator(1, 2, {1}), "b"}}, "m");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().describe().find("generator 1 is both a and b"), std::string::npos);
  auto missing = merge_generator_reports({{generator(1, 3, {1}), "a"}, {generator(3, 3, {1}), "c"}}, "m");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().describe().find("generator(s) 2 of 3 missing"), std::string::npos);
  auto counts = merge_generator_reports({{generator(1, 2, {1}), "a"}, {generator(2, 3, {1}), "b"}}, "m");
  EXPECT_FALSE(counts.ok());
  // A hostile count is refused, not allocated.
  auto huge = merge_generator_reports({{generator(1, 4000000000u, {1}), "a"}}, "m");
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.error().describe().find("one of 4000000000 generators"), std::string::npos);
}

TEST(MergeGenerators, AMixOfGeneratorAndShardReportsIsRefused) {
  Report shard = generator(1, 2, {1});
  shard.generator.reset();
  EXPECT_FALSE(are_generator_reports({{generator(1, 2, {1}), "a"}, {shard, "b"}}).ok());
  EXPECT_TRUE(*are_generator_reports({{generator(1, 2, {1}), "a"}}));
  EXPECT_FALSE(*are_generator_reports({{shard, "b"}}));
}
