#pragma once
// The classification rules as data: observed event (kind, side, SA kind) -> Windows code,
// exact or approximate, and why. Each reason says what was verified against real strongSwan
// 5.9.8 runs (tests/fixtures/logs/) and what corrects the first guesses (docs/design.md).
#include <optional>
#include <span>
#include <string_view>

#include "common/result.hpp"
#include "taxonomy/codes.hpp"
#include "taxonomy/observed_event.hpp"

namespace ist::taxonomy {

enum class Mapping : uint8_t { exact, approximate };

struct Rule {
  std::string_view id;             // stable name, e.g. "ikesa-limit"
  Observation what;
  std::optional<Side> side;        // nullopt: either side
  std::optional<SaKind> sa;        // nullopt: either SA kind
  std::string_view code;           // name in the CodeTable
  Mapping mapping;
  bool informational;              // kept apart from failures (DOS_COOKIE_SENT)
  std::string_view reason;         // why this code; what was verified
  std::string_view log_attribution;  // what a charon log alone can attribute (for `classify`)
};

// The shipped rules, most specific first.
std::span<const Rule> rules();

// First rule matching the event, or nullptr.
const Rule* find_rule(std::span<const Rule> table, const ObservedEvent& e);

// Every rule's code exists in `codes`; no two rules share an id.
Status validate_rules(std::span<const Rule> table, const CodeTable& codes);

}  // namespace ist::taxonomy
