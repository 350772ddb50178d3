#include <gtest/gtest.h>

#include "scenario/nearest.hpp"
#include "scenario/units.hpp"

namespace sc = ist::scenario;
using std::chrono::milliseconds;

namespace {

TEST(ScenarioUnits, Durations) {
  struct Case { const char* text; long long ms; };
  const Case cases[] = {{"250ms", 250},      {"30s", 30'000},   {"30", 30'000},
                        {"5m", 300'000},     {"8h", 28'800'000}, {"1.5h", 5'400'000},
                        {"0", 0},            {" 2s ", 2'000},    {"0.5s", 500}};
  for (const auto& c : cases) {
    auto v = sc::parse_duration(c.text);
    ASSERT_TRUE(std::holds_alternative<milliseconds>(v)) << c.text << ": " << std::get<std::string>(v);
    EXPECT_EQ(std::get<milliseconds>(v).count(), c.ms) << c.text;
  }
}

TEST(ScenarioUnits, BadDurations) {
  struct Case { const char* text; const char* why; };
  const Case cases[] = {{"5x", "unknown unit 'x'"}, {"-5s", "must not be negative"},
                        {"", "empty value"},        {"s", "not a number"},
                        {"1.2.3s", "not a number"}, {"5 minutes", "unknown unit 'minutes'"}};
  for (const auto& c : cases) {
    auto v = sc::parse_duration(c.text);
    ASSERT_TRUE(std::holds_alternative<std::string>(v)) << c.text;
    EXPECT_NE(std::get<std::string>(v).find(c.why), std::string::npos)
        << c.text << " -> " << std::get<std::string>(v);
  }
}

TEST(ScenarioUnits, RatesSharesBitratesCounts) {
  EXPECT_DOUBLE_EQ(std::get<double>(sc::parse_rate("200/s")), 200);
  EXPECT_DOUBLE_EQ(std::get<double>(sc::parse_rate("30/m")), 0.5);
  EXPECT_DOUBLE_EQ(std::get<double>(sc::parse_rate("7")), 7);
  EXPECT_TRUE(std::holds_alternative<std::string>(sc::parse_rate("5/h")));
  EXPECT_DOUBLE_EQ(std::get<double>(sc::parse_share("50%")), 0.5);
  EXPECT_DOUBLE_EQ(std::get<double>(sc::parse_share("0.5%")), 0.005);
  EXPECT_DOUBLE_EQ(std::get<double>(sc::parse_share("0")), 0);
  EXPECT_TRUE(std::holds_alternative<std::string>(sc::parse_share("50")));
  EXPECT_EQ(std::get<std::uint64_t>(sc::parse_bitrate("1gbit")), 1'000'000'000u);
  EXPECT_EQ(std::get<std::uint64_t>(sc::parse_bitrate("512kbit")), 512'000u);
  EXPECT_EQ(std::get<std::uint64_t>(sc::parse_bitrate("1.5mbit")), 1'500'000u);
  EXPECT_TRUE(std::holds_alternative<std::string>(sc::parse_bitrate("100")));
  EXPECT_EQ(std::get<std::uint64_t>(sc::parse_count("1_000_000")), 1'000'000u);
  EXPECT_EQ(std::get<std::uint64_t>(sc::parse_count("1,000")), 1'000u);
  EXPECT_TRUE(std::holds_alternative<std::string>(sc::parse_count("1e3")));
  EXPECT_TRUE(std::holds_alternative<std::string>(sc::parse_count("99999999999999999999999")));
  EXPECT_TRUE(std::get<bool>(sc::parse_bool("yes")));
  EXPECT_FALSE(std::get<bool>(sc::parse_bool("false")));
  EXPECT_TRUE(std::holds_alternative<std::string>(sc::parse_bool("maybe")));
}

TEST(ScenarioUnits, Formatting) {
  EXPECT_EQ(sc::format_duration(milliseconds(1'800'000)), "30m");
  EXPECT_EQ(sc::format_duration(milliseconds(5'400'000)), "90m");
  EXPECT_EQ(sc::format_duration(milliseconds(28'800'000)), "8h");
  EXPECT_EQ(sc::format_duration(milliseconds(1'500)), "1500ms");
  EXPECT_EQ(sc::format_duration(milliseconds(0)), "0s");
  EXPECT_EQ(sc::format_rate(500), "500/s");
  EXPECT_EQ(sc::format_rate(0.5), "30/m");
}

TEST(ScenarioNearest, SuggestsCloseKeysOnly) {
  const std::vector<std::string> keys = {"rekey_time", "rand_time", "life_time", "over_time"};
  EXPECT_EQ(sc::nearest("rekey_tme", keys), "rekey_time");
  EXPECT_EQ(sc::nearest("rekye_time", keys), "rekey_time");  // swap counts as one
  EXPECT_EQ(sc::nearest("lifetime", keys), "life_time");
  EXPECT_EQ(sc::nearest("proposals", keys), std::nullopt);
  EXPECT_EQ(sc::did_you_mean("rand_tim", keys), "; did you mean 'rand_time'?");
  EXPECT_EQ(sc::edit_distance("kitten", "sitting"), 3u);
}

TEST(ScenarioNearest, PathsAlsoSuggestTheirContinuations) {
  const std::vector<std::string> paths = {"setup_rate_per_s", "rekeys.ike", "rekeys.child", "established",
                                          "established_ratio"};
  EXPECT_EQ(sc::did_you_mean_path("setup_rate", paths), "; did you mean 'setup_rate_per_s'?");
  EXPECT_EQ(sc::did_you_mean_path("rekeys", paths), "; did you mean one of 'rekeys.ike', 'rekeys.child'?");
  EXPECT_EQ(sc::did_you_mean_path("establshed_ratio", paths), "; did you mean 'established_ratio'?");
  // A continuation starts at a '_' or '.', and a word that short says nothing.
  EXPECT_EQ(sc::did_you_mean_path("setup_ra", paths), "");
  EXPECT_EQ(sc::did_you_mean_path("re", paths), "");
  EXPECT_EQ(sc::did_you_mean_path("latency", paths), "");
}

}  // namespace
