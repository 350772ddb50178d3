#pragma once
// The taxonomy's code table as the reports library's CodeLookup: the HTML page shows each
// Windows code's value, hex and documented text without reports/ depending on taxonomy/.
#include "reports/code_info.hpp"
#include "taxonomy/codes.hpp"

namespace ist::cli {

inline reports::CodeLookup report_code_lookup() {
  return [](std::string_view name) -> std::optional<reports::CodeInfo> {
    const auto* c = taxonomy::CodeTable::instance().by_name(name);
    if (!c) return std::nullopt;
    return reports::CodeInfo{c->name, c->value, c->hex, c->description};
  };
}

}  // namespace ist::cli
