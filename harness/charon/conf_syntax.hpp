#pragma once
// The text syntax strongswan.conf and swanctl.conf share: "name = value" lines and
// "name {" ... "}" sections. Helpers to check names and to write values so that the
// settings parser reads back exactly what we meant.
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ist::charon {

// A section or key name we are willing to write: [A-Za-z0-9_-]+. Dots separate path
// segments ("plugins.vici.socket") and are never part of a name.
bool is_valid_conf_name(std::string_view name);

// Checks a value before it is stored: no line breaks and no NUL (the parser is line based).
Status check_conf_value(std::string_view value);

// The value as it must appear after "name = ": unchanged when the parser reads it back
// verbatim, otherwise double-quoted with '"' and '\' escaped (empty values, leading or
// trailing blanks, #, {, }, =, ", \, comma).
std::string quote_conf_value(std::string_view value);

}  // namespace ist::charon
