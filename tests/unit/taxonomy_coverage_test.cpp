// Coverage table (`ikestorm codes --coverage`): every code exactly once, every named scenario
// exists and is about its code, every rule mentioned in a reason exists, and validation
// rejects broken tables.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "taxonomy/coverage.hpp"

namespace ist::taxonomy {
namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(TaxonomyCoverage, ShippedTableIsValid) {
  auto st = validate_coverage(coverage(), rules(), CodeTable::instance());
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().describe());
}

TEST(TaxonomyCoverage, EveryCodeAppearsExactlyOnce) {
  std::map<std::string_view, int> count;
  for (const auto& c : coverage()) ++count[c.code];
  ASSERT_EQ(CodeTable::instance().all().size(), 171u);
  EXPECT_EQ(coverage().size(), CodeTable::instance().all().size());
  for (const auto& code : CodeTable::instance().all()) EXPECT_EQ(count[code.name], 1) << code.name;
}

TEST(TaxonomyCoverage, EveryScenarioExistsAndConcernsItsCode) {
  const std::filesystem::path root = IST_SOURCE_DIR;
  std::size_t named = 0;
  for (const auto& c : coverage()) {
    for (auto rel : coverage_scenarios(c)) {
      ++named;
      const auto path = root / std::string(rel);
      ASSERT_TRUE(std::filesystem::is_regular_file(path)) << c.code << ": " << path;
      EXPECT_NE(read_text(path).find(std::string(c.code)), std::string::npos)
          << path << " does not mention " << c.code;
    }
  }
  EXPECT_GE(named, 9u);
}

TEST(TaxonomyCoverage, EveryScenarioInTheTaxonomyFolderIsListed) {
  std::set<std::string> listed;
  for (const auto& c : coverage())
    for (auto rel : coverage_scenarios(c)) listed.insert(std::string(rel));
  const std::filesystem::path dir = std::filesystem::path(IST_SOURCE_DIR) / "scenarios/taxonomy";
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".yaml") continue;
    const std::string rel = "scenarios/taxonomy/" + e.path().filename().string();
    // getspifail.yaml documents a code it cannot produce here; its entry says why.
    if (rel == "scenarios/taxonomy/getspifail.yaml") continue;
    EXPECT_TRUE(listed.count(rel)) << rel << " is not in the coverage table";
  }
}

TEST(TaxonomyCoverage, EveryRuleNamedInAReasonExists) {
  std::set<std::string_view> ids;
  for (const auto& r : rules()) ids.insert(r.id);
  const std::regex mention(R"(Rules? ([a-z][a-z0-9-]+))");
  std::size_t mentions = 0;
  for (const auto& c : coverage()) {
    const std::string why(c.why_not);
    for (std::sregex_iterator it(why.begin(), why.end(), mention), end; it != end; ++it) {
      ++mentions;
      EXPECT_TRUE(ids.count((*it)[1].str())) << c.code << " names unknown rule " << (*it)[1].str();
    }
  }
  EXPECT_GE(mentions, 4u);
}

TEST(TaxonomyCoverage, RulesForCodeFollowsTheRuleTable) {
  struct Case {
    std::string_view code;
    std::set<std::string_view> ids;
  };
  const Case cases[] = {
      {"ERROR_IPSEC_IKE_MM_LIMIT", {"ikesa-limit"}},
      {"ERROR_IPSEC_IKE_QUEUE_DROP_MM", {"half-open-limit", "job-load-limit"}},
      {"ERROR_IPSEC_IKE_ATTRIB_FAIL", {"ike-no-proposal", "child-no-proposal"}},
      {"ERROR_IPSEC_IKE_QM_LIMIT", {}},
  };
  for (const auto& c : cases) {
    auto got = rules_for_code(rules(), c.code);
    EXPECT_EQ(std::set<std::string_view>(got.begin(), got.end()), c.ids) << c.code;
  }
}

TEST(TaxonomyCoverage, ScenarioListSplitsOnSpaces) {
  const CodeCoverage c{"X", "a.yaml  b.yaml", ""};
  auto got = coverage_scenarios(c);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], "a.yaml");
  EXPECT_EQ(got[1], "b.yaml");
  EXPECT_TRUE(coverage_scenarios(CodeCoverage{"X", "", "why"}).empty());
}

TEST(TaxonomyCoverage, ValidationRejectsBrokenTables) {
  std::vector<CodeCoverage> full(coverage().begin(), coverage().end());
  struct Case {
    const char* name;
    void (*mutate)(std::vector<CodeCoverage>&);
  };
  const Case cases[] = {
      {"missing code", [](std::vector<CodeCoverage>& t) { t.pop_back(); }},
      {"duplicate code", [](std::vector<CodeCoverage>& t) { t.push_back(t.front()); }},
      {"unknown code", [](std::vector<CodeCoverage>& t) { t.push_back({"ERROR_NO_SUCH", "", "x"}); }},
      {"neither scenario nor reason",
       [](std::vector<CodeCoverage>& t) {
         for (auto& c : t)
           if (c.code == "ERROR_IPSEC_IKE_QM_LIMIT") c.why_not = "";
       }},
      {"both scenario and reason",
       [](std::vector<CodeCoverage>& t) {
         for (auto& c : t)
           if (c.code == "ERROR_IPSEC_IKE_MM_LIMIT") c.why_not = "x";
       }},
      {"scenario without a rule",
       [](std::vector<CodeCoverage>& t) {
         for (auto& c : t)
           if (c.code == "ERROR_IPSEC_IKE_QM_LIMIT") c = {c.code, "scenarios/limits.yaml", ""};
       }},
  };
  for (const auto& c : cases) {
    auto t = full;
    c.mutate(t);
    EXPECT_FALSE(validate_coverage(t, rules(), CodeTable::instance()).ok()) << c.name;
  }
}

}  // namespace
}  // namespace ist::taxonomy
