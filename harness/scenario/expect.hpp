#pragma once
// Expectations: "path: OP NUMBER" checks evaluated against one run's results.
// Paths are dotted into the run's `summary` (established_ratio, setup_latency_ms.p99, ...),
// plus codes.NAME (peers that got that code; 0 when absent), codes.NAME.attempts,
// unclassified and leaks.
#include <optional>
#include <variant>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/diagnostics.hpp"

namespace ist::scenario {

enum class CompareOp { ge, gt, le, lt, eq, ne };

struct Expectation {
  std::string path;       // "established_ratio", "codes.ERROR_IPSEC_IKE_MM_LIMIT"
  CompareOp op = CompareOp::ge;
  double threshold = 0;
  std::string threshold_text;  // the number as written ("0.99")
  Origin origin;

  std::string expr() const;  // "established_ratio >= 0.99"
  bool holds(double observed) const;
};

struct ExpectationResult {
  std::string expr;
  bool ok = false;
  nlohmann::json observed;  // the number found, or null when the run has no such value
};

const char* to_string(CompareOp op);

// "OP NUMBER" -> op and threshold, or why not.
struct ParsedCondition {
  CompareOp op;
  double threshold;
  std::string threshold_text;
};
std::variant<ParsedCondition, std::string> parse_condition(std::string_view text);

// Whether `path` names something a run reports; if not, why (with the nearest valid path).
// With `known_codes` non-empty, codes.NAME must name one of them.
std::optional<std::string> check_expect_path(std::string_view path,
                                             const std::vector<std::string>& known_codes = {});

// The summary paths expectations may name (for messages and docs).
const std::vector<std::string>& summary_paths();

// The expectation used when a scenario has no expect block: established_ratio >= 1.
Expectation implied_expectation();

// `expectations` plus the implied sut_survived == 1 (a SUT that died or stopped answering
// fails the run), unless the scenario names sut_survived itself.
std::vector<Expectation> with_implied_survival(std::vector<Expectation> expectations);

// Evaluates each expectation against a run object holding `summary` and `codes` (as in the
// report's runs[]): codes.NAME reads codes.NAME.peers (0 when the code is absent);
// unclassified and leaks are read from summary, else from the run object itself.
// An expectation whose value is missing (or not a number) fails with observed = null.
std::vector<ExpectationResult> evaluate(const std::vector<Expectation>& expectations,
                                        const nlohmann::json& run);

}  // namespace ist::scenario
