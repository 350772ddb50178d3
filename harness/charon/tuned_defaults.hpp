#pragma once
// Tuning learned the hard way (docs/design.md, "Domain facts"), applied unless the scenario sets
// the key itself. One table so the README and the report can list exactly what was applied.
#include <span>
#include <string_view>

namespace ist::charon {

enum class Role;

struct TunedDefault {
  std::string_view key;    // dotted path below charon
  std::string_view value;
  bool sut;                // applied to the SUT
  bool initiator;          // applied to initiator daemons
  std::string_view why;
};

std::span<const TunedDefault> tuned_defaults();
bool applies_to(const TunedDefault& d, Role role);

}  // namespace ist::charon
