#pragma once
// Dotted paths into a scenario ("peers.child.rekey_time"), as --set, sweep and expect use them.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ist::scenario {

// "a.b.c" -> {a, b, c}; sweep.X and expect.X keep X whole (their keys are paths themselves).
std::vector<std::string> split_path(std::string_view path);

// Why the path is malformed (empty, or an empty component); nullopt when it is well-formed.
std::optional<std::string> check_path(std::string_view path);

}  // namespace ist::scenario
