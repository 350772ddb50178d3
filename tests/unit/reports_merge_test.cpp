// merge: shard reports of one sweep become one; mismatches are refused.
#include <gtest/gtest.h>

#include "reports/merge.hpp"

using namespace ist::reports;

namespace {

Report shard(std::string id, std::vector<int> points, std::string rekey = "5m") {
  Report r;
  r.run_id = std::move(id);
  r.backend = "libipsec";
  r.started_at = "2026-01-01T00:00:0" + std::to_string(points.front()) + "Z";
  r.scenario = {{"name", "sweep"}, {"peers", {{"child", {{"rekey_time", rekey}}}}}};
  for (int p : points) {
    RunReport run;
    run.folder = "run-" + std::to_string(p);
    run.parameters = {{"x", p}};
    r.runs.push_back(run);
  }
  return r;
}

std::vector<std::string> folders(const Report& r) {
  std::vector<std::string> out;
  for (const auto& run : r.runs) out.push_back(run.folder);
  return out;
}

}  // namespace

TEST(Merge, OrdersRunsByPointAndListsShards) {
  auto m = merge_reports({{shard("aaaaaa", {2, 4, 10}), "s2"}, {shard("bbbbbb", {1, 3}), "s1"}}, "ikestorm merge");
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(folders(*m), (std::vector<std::string>{"run-1", "run-2", "run-3", "run-4", "run-10"}));
  EXPECT_EQ(m->run_id, "aaaaaa+bbbbbb");
  EXPECT_EQ(m->started_at, "2026-01-01T00:00:01Z");
  ASSERT_EQ(m->merged_from.size(), 2u);
  EXPECT_EQ(m->merged_from[1].source, "s1");
  EXPECT_EQ(m->command, "ikestorm merge");
  // Merging a merged report with another shard keeps the original shard list.
  auto again = merge_reports({{*m, "merged"}, {shard("cccccc", {5}), "s3"}}, "x");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->merged_from.size(), 3u);
  EXPECT_EQ(again->runs.size(), 6u);
}

TEST(Merge, RefusesMismatches) {
  struct Case {
    std::vector<ShardInput> shards;
    const char* message_part;
  };
  Report other_backend = shard("bbbbbb", {2});
  other_backend.backend = "xfrm";
  const Case cases[] = {
      {{}, "no reports"},
      {{{shard("aaaaaa", {1}), "s1"}, {shard("bbbbbb", {2}, "30m"), "s2"}}, "/peers/child/rekey_time"},
      {{{shard("aaaaaa", {1, 2}), "s1"}, {shard("bbbbbb", {2}), "s2"}}, "point run-2 is in both s1 and s2"},
      {{{shard("aaaaaa", {1}), "s1"}, {other_backend, "s2"}}, "backend"},
  };
  for (const auto& c : cases) {
    auto m = merge_reports(c.shards, "x");
    ASSERT_FALSE(m.ok()) << c.message_part;
    EXPECT_NE(m.error().describe().find(c.message_part), std::string::npos) << m.error().describe();
  }
}

TEST(Merge, PointNumbersAndFinishedPoints) {
  struct Case {
    const char* folder;
    std::optional<std::size_t> k;
  };
  const Case cases[] = {{"run-1", 1}, {"run-12", 12}, {"run-0", std::nullopt}, {"run-", std::nullopt},
                        {"run-2x", std::nullopt}, {"", std::nullopt}, {"other", std::nullopt}};
  for (const auto& c : cases) {
    RunReport r;
    r.folder = c.folder;
    EXPECT_EQ(point_number(r), c.k) << c.folder;
  }
  Report r = shard("aaaaaa", {1, 2, 3, 4});
  r.runs[1].outcome = "interrupted";
  r.runs[2].outcome = "harness-fault";
  r.runs[3].outcome = "sut-died";
  EXPECT_EQ(finished_points(r), (std::set<std::string>{"run-1", "run-4"}));
}
