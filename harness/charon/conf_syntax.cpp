#include "charon/conf_syntax.hpp"

#include <algorithm>

namespace ist::charon {

bool is_valid_conf_name(std::string_view name) {
  if (name.empty()) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

Status check_conf_value(std::string_view value) {
  if (value.find_first_of(std::string_view("\n\r\0", 3)) != std::string_view::npos)
    return Error("setting values cannot contain line breaks or NUL bytes");
  return ok();
}

std::string quote_conf_value(std::string_view value) {
  const bool needs_quotes = value.empty() || value.front() == ' ' || value.front() == '\t' ||
                            value.back() == ' ' || value.back() == '\t' ||
                            value.find_first_of("#{}=\"\\,") != std::string_view::npos;
  if (!needs_quotes) return std::string(value);
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace ist::charon
