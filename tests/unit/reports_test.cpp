#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "reports/report.hpp"

using namespace ist::reports;

TEST(Percentile, NearestRank) {
  std::vector<double> s{5, 1, 4, 2, 3, 6, 7, 8, 9, 10};
  EXPECT_EQ(percentile(s, 50), 5);
  EXPECT_EQ(percentile(s, 90), 9);
  EXPECT_EQ(percentile(s, 99), 10);
  EXPECT_EQ(percentile(s, 0), 1);
  EXPECT_EQ(percentile({}, 50), 0);
  auto l = summarize_latency(s);
  EXPECT_EQ(l.max, 10);
  EXPECT_EQ(l.p50, 5);
}

TEST(ReportJson, ContractFieldNamesAndRoundTrip) {
  Report r;
  r.run_id = "abc123";
  r.backend = "libipsec";
  r.host.kernel = "6.1";
  RunReport run;
  run.summary.peers = 10;
  run.summary.established = 9;
  run.summary.established_ratio = 0.9;
  run.codes["ERROR_IPSEC_IKE_MM_LIMIT"] = {1, 3};
  Failure f;
  f.peer = "p7";
  f.side = "responder";
  f.code = {"ERROR_IPSEC_IKE_MM_LIMIT", 13882, "0x363A"};
  run.failures.push_back(f);
  run.setup_latency_samples = {1.5, 2.5};
  run.expectations.push_back({"established_ratio >= 1", false, 0.9});
  r.runs.push_back(run);

  auto j = to_json(r);
  for (const char* k : {"schema_version", "tool_version", "run_id", "started_at", "command", "scenario",
                        "backend", "real_xfrm", "host", "runs"})
    EXPECT_TRUE(j.contains(k)) << k;
  const auto& jr = j["runs"][0];
  for (const char* k : {"parameters", "effective", "summary", "codes", "informational", "failures", "samples",
                        "peers", "timeseries", "expectations"})
    EXPECT_TRUE(jr.contains(k)) << k;
  for (const char* k : {"peers", "established", "established_ratio", "failed", "setup_rate_per_s",
                        "setup_latency_ms", "rekeys", "renegotiations_per_min", "renegotiations_per_min_wall",
                        "cpu_s", "rss_mb", "unclassified", "leaks"})
    EXPECT_TRUE(jr["summary"].contains(k)) << k;
  EXPECT_EQ(jr["failures"][0]["code"]["hex"], "0x363A");
  EXPECT_EQ(jr["samples"]["setup_latency_ms"].size(), 2u);

  auto back = from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(back->runs[0].summary.established, 9u);
  EXPECT_EQ(back->runs[0].codes.at("ERROR_IPSEC_IKE_MM_LIMIT").attempts, 3u);
  EXPECT_EQ(back->runs[0].failures[0].code.value, 13882u);
  EXPECT_EQ(to_json(*back), j);
  // scenario_yaml: absent when empty (older reports), kept verbatim when set.
  EXPECT_FALSE(j.contains("scenario_yaml"));
  r.scenario_yaml = "name: x\n# a comment\npeers: { count: 3 }\n";
  auto with_yaml = from_json(to_json(r));
  ASSERT_TRUE(with_yaml.ok());
  EXPECT_EQ(with_yaml->scenario_yaml, r.scenario_yaml);
}

TEST(ReportJson, RejectsNewerSchemaAndGarbage) {
  nlohmann::json j = {{"schema_version", 99}, {"runs", nlohmann::json::array()}};
  EXPECT_FALSE(from_json(j).ok());
  EXPECT_FALSE(from_json(nlohmann::json::array()).ok());
  EXPECT_FALSE(from_json(nlohmann::json{{"runs", 1}}).ok());
}

TEST(ReportJson, WriteAndReadFile) {
  auto dir = std::filesystem::temp_directory_path() / "ist-report-test";
  std::filesystem::create_directories(dir);
  Report r;
  r.runs.emplace_back();
  auto path = (dir / "report.json").string();
  ASSERT_TRUE(write_json(r, path).ok());
  auto back = read_json(path);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->runs.size(), 1u);
  EXPECT_FALSE(read_json((dir / "missing.json").string()).ok());
  std::filesystem::remove_all(dir);
}

TEST(ReportJson, TargetOnlyInTargetRunsWithVendorNullWhenUnseen) {
  Report r;
  EXPECT_FALSE(to_json(r).contains("target"));
  r.target = TargetInfo{"198.18.100.1", std::nullopt, true};
  auto j = to_json(r);
  ASSERT_TRUE(j.contains("target"));
  EXPECT_EQ(j["target"]["address"], "198.18.100.1");
  EXPECT_TRUE(j["target"]["vendor"].is_null());
  EXPECT_EQ(j["target"]["counts_available"], true);
  r.target->vendor = "strongSwan";
  auto back = from_json(to_json(r));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->target.has_value());
  EXPECT_EQ(back->target->vendor.value_or(""), "strongSwan");
  EXPECT_TRUE(back->target->counts_available);
}

TEST(ReportJson, MergedFromOnlyInMergedReports) {
  Report r;
  EXPECT_FALSE(to_json(r).contains("merged_from"));
  r.merged_from.push_back({"abc123", "2026-01-01T00:00:00Z", "ikestorm run x --shard 1/2", "s1"});
  auto j = to_json(r);
  ASSERT_TRUE(j.contains("merged_from"));
  EXPECT_EQ(j["merged_from"][0]["source"], "s1");
  auto back = from_json(j);
  ASSERT_TRUE(back.ok());
  ASSERT_EQ(back->merged_from.size(), 1u);
  EXPECT_EQ(back->merged_from[0].command, "ikestorm run x --shard 1/2");
}
