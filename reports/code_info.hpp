#pragma once
// What a report page says about a Windows code beyond its name. The reports library knows
// only the report model; the caller (the CLI, which has the taxonomy's code table) passes a
// lookup. Without one, value and hex come from the run's failure records and the text is
// left out.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace ist::reports {

struct CodeInfo {
  std::string name;
  uint32_t value = 0;
  std::string hex;
  std::string description;  // the documented text
};

using CodeLookup = std::function<std::optional<CodeInfo>(std::string_view name)>;

}  // namespace ist::reports
