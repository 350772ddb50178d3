#pragma once
// Reading optional fields of loosely shaped JSON (scenario documents, effective settings).
// nlohmann's value(key, default) trips gcc 12's -Wnull-dereference (a false positive); these
// helpers avoid it and never throw.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ist::reports {

inline std::string str_field(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

inline double num_field(const nlohmann::json& j, std::string_view key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return 0;
  return it->get<double>();
}

}  // namespace ist::reports
