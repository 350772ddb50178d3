#include <gtest/gtest.h>

#include "scenario/expect.hpp"

namespace sc = ist::scenario;

namespace {

TEST(ScenarioExpect, ParseConditions) {
  struct Case { const char* text; sc::CompareOp op; double threshold; };
  const Case ok[] = {{">= 0.99", sc::CompareOp::ge, 0.99}, {">0", sc::CompareOp::gt, 0},
                     {"<= 5", sc::CompareOp::le, 5},       {"< 2000", sc::CompareOp::lt, 2000},
                     {"== 40", sc::CompareOp::eq, 40},     {"!= 1", sc::CompareOp::ne, 1},
                     {"  >=  1e3 ", sc::CompareOp::ge, 1000}, {"== -1", sc::CompareOp::eq, -1}};
  for (const auto& c : ok) {
    auto r = sc::parse_condition(c.text);
    ASSERT_TRUE(std::holds_alternative<sc::ParsedCondition>(r)) << c.text << ": " << std::get<std::string>(r);
    EXPECT_EQ(std::get<sc::ParsedCondition>(r).op, c.op) << c.text;
    EXPECT_DOUBLE_EQ(std::get<sc::ParsedCondition>(r).threshold, c.threshold) << c.text;
  }
  struct Bad { const char* text; const char* why; };
  const Bad bad[] = {{"=> 1", "use '=='"},         {"= 1", "use '=='"},
                     {">=", "missing the number"}, {"0.99", "expected \"OP NUMBER\""},
                     {">= abc", "'abc' is not a number"}, {"~ 3", "expected \"OP NUMBER\""}};
  for (const auto& b : bad) {
    auto r = sc::parse_condition(b.text);
    ASSERT_TRUE(std::holds_alternative<std::string>(r)) << b.text;
    EXPECT_NE(std::get<std::string>(r).find(b.why), std::string::npos) << std::get<std::string>(r);
  }
}

TEST(ScenarioExpect, Paths) {
  for (const char* p : {"established_ratio", "setup_latency_ms.p99", "rekeys.child", "leaks",
                        "unclassified", "codes.ERROR_IPSEC_IKE_MM_LIMIT",
                        "codes.STATUS_IPSEC_QUEUE_OVERFLOW.attempts", "renegotiations_per_min_wall"}) {
    EXPECT_EQ(sc::check_expect_path(p), std::nullopt) << p;
  }
  EXPECT_NE(sc::check_expect_path("setup_latency_ms.p98")->find("did you mean 'setup_latency_ms.p90'"),
            std::string::npos);
  EXPECT_EQ(sc::check_expect_path("setup_rate"),
            "unknown expectation 'setup_rate'; did you mean 'setup_rate_per_s'? (expect takes summary paths such "
            "as established_ratio, setup_latency_ms.p99, or codes.NAME)");
  EXPECT_NE(sc::check_expect_path("setup_latency_ms")->find("did you mean one of 'setup_latency_ms.p50', "
                                                            "'setup_latency_ms.p90', 'setup_latency_ms.p99', "
                                                            "'setup_latency_ms.max'?"),
            std::string::npos);
  EXPECT_NE(sc::check_expect_path("codes.mm_limit")->find("not a code name"), std::string::npos);
  EXPECT_NE(sc::check_expect_path("codes.X.count")->find("codes.NAME.attempts"), std::string::npos);

  const std::vector<std::string> known = {"ERROR_IPSEC_IKE_MM_LIMIT", "ERROR_IPSEC_IKE_QM_LIMIT"};
  EXPECT_EQ(sc::check_expect_path("codes.ERROR_IPSEC_IKE_MM_LIMIT", known), std::nullopt);
  EXPECT_EQ(sc::check_expect_path("codes.ERROR_IPSEC_IKE_MM_LIMT", known),
            "'ERROR_IPSEC_IKE_MM_LIMT' is not a known code; did you mean 'ERROR_IPSEC_IKE_MM_LIMIT'? "
            "(ikestorm codes lists them)");
  // Without a list any well-formed name is accepted.
  EXPECT_EQ(sc::check_expect_path("codes.ERROR_IPSEC_IKE_MM_LIMT"), std::nullopt);
}

sc::Expectation make(const std::string& path, const char* cond) {
  auto c = std::get<sc::ParsedCondition>(sc::parse_condition(cond));
  return sc::Expectation{path, c.op, c.threshold, c.threshold_text, {}};
}

TEST(ScenarioExpect, EvaluateAgainstARun) {
  const auto run = nlohmann::json::parse(R"({
    "summary": {"peers": 60, "established": 40, "established_ratio": 0.6667, "failed": 20,
                "setup_latency_ms": {"p50": 12, "p99": 2500}, "renegotiations_per_min": 16.9,
                "unclassified": 0, "leaks": []},
    "codes": {"ERROR_IPSEC_IKE_MM_LIMIT": {"peers": 20, "attempts": 60}}
  })");
  struct Case { const char* path; const char* cond; bool ok; nlohmann::json observed; };
  const Case cases[] = {
      {"established", "== 40", true, 40},
      {"established_ratio", ">= 1", false, 0.6667},
      {"setup_latency_ms.p99", "< 2000", false, 2500},
      {"setup_latency_ms.p50", "< 2000", true, 12},
      {"renegotiations_per_min", "> 15", true, 16.9},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT", "== 20", true, 20},
      {"codes.ERROR_IPSEC_IKE_MM_LIMIT.attempts", ">= 60", true, 60},
      {"codes.ERROR_IPSEC_IKE_AUTH_FAIL", "== 0", true, 0},  // absent code counts 0
      {"unclassified", "== 0", true, 0},
      {"leaks", "== 0", true, 0},                          // an empty list of leaks
      {"setup_latency_ms.max", "< 10", false, nullptr},     // not in this run
  };
  std::vector<sc::Expectation> ex;
  for (const auto& c : cases) ex.push_back(make(c.path, c.cond));
  const auto results = sc::evaluate(ex, run);
  ASSERT_EQ(results.size(), std::size(cases));
  for (std::size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].expr, std::string(cases[i].path) + " " + cases[i].cond) << i;
    EXPECT_EQ(results[i].ok, cases[i].ok) << results[i].expr;
    EXPECT_EQ(results[i].observed, cases[i].observed) << results[i].expr;
  }
}

TEST(ScenarioExpect, ImpliedExpectationAndLeaksAtTopLevel) {
  const auto implied = sc::implied_expectation();
  EXPECT_EQ(implied.expr(), "established_ratio >= 1");
  auto r = sc::evaluate({implied, make("leaks", "== 0")},
                        nlohmann::json::parse(R"({"summary": {"established_ratio": 1.0}, "leaks": 2})"));
  EXPECT_TRUE(r[0].ok);
  EXPECT_FALSE(r[1].ok);
  EXPECT_EQ(r[1].observed, 2);
}

}  // namespace
