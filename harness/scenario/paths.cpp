#include "scenario/paths.hpp"

namespace ist::scenario {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  // sweep and expect keys are dotted paths themselves: one key after the section name.
  for (std::string_view section : {"sweep.", "expect."}) {
    if (path.rfind(section, 0) == 0) {
      return {std::string(section.substr(0, section.size() - 1)),
              std::string(path.substr(section.size()))};
    }
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::optional<std::string> check_path(std::string_view path) {
  if (path.empty()) return std::string("empty path");
  for (const auto& p : split_path(path)) {
    if (p.empty()) return "'" + std::string(path) + "' has an empty component";
  }
  return std::nullopt;
}

}  // namespace ist::scenario
