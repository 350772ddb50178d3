#pragma once
// Reads operator-written strongswan.conf / swanctl.conf text (the strongSwan settings
// syntax): `key = value` (value to the end of the line, or a "double-quoted" string with
// \" \\ \n \t escapes, which may span lines), `name {` ... `}` sections, `#` comments.
// A section or key given twice is merged as charon does (the later value wins).
// `include` and section references (`name : base {`) are refused with a clear message:
// the harness must see the whole configuration in one file. Errors read "file:line: ...".
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ist::charon {

struct ConfNode {
  std::string name;
  std::optional<std::string> value;  // a key; a section has none
  std::vector<ConfNode> children;    // in first-seen order
  int line = 0;                      // where it was (last) defined

  bool is_section() const { return !value.has_value(); }
  const ConfNode* child(std::string_view name) const;
  ConfNode* child(std::string_view name);
  // The value of key `name` directly below this section.
  std::optional<std::string> get(std::string_view name) const;
};

// `file` only names the source in errors.
Result<ConfNode> parse_conf_text(std::string_view text, const std::string& file);
Result<ConfNode> parse_conf_file(const std::string& path);

// Splits a list value ("a, b,c") at commas, trimming blanks; empty items are dropped.
std::vector<std::string> split_conf_list(std::string_view value);

}  // namespace ist::charon
