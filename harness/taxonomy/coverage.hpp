#pragma once
// Coverage of the Windows code table: for every code, the shipped scenario(s) that reproduce
// it with strongSwan here, or why they cannot. The rules that produce a code come from the
// rule table (rules.hpp), so they are not repeated here. `ikestorm codes --coverage` prints it.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "taxonomy/codes.hpp"
#include "taxonomy/rules.hpp"

namespace ist::taxonomy {

struct CodeCoverage {
  std::string_view code;       // name in the CodeTable
  std::string_view scenarios;  // space-separated paths relative to the repository root; "" = none
  std::string_view why_not;    // why no scenario reproduces it (empty when one does)
};

std::span<const CodeCoverage> coverage();

// The scenario paths of one entry, split.
std::vector<std::string_view> coverage_scenarios(const CodeCoverage& c);

// Ids of the rules that classify into `code`.
std::vector<std::string_view> rules_for_code(std::span<const Rule> table, std::string_view code);

// Every code of `codes` appears exactly once, no unknown code, each entry has a scenario or a
// reason (not both), and an entry with a scenario has a rule that produces its code.
Status validate_coverage(std::span<const CodeCoverage> table, std::span<const Rule> rules, const CodeTable& codes);

}  // namespace ist::taxonomy
