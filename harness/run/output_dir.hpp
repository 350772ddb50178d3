#pragma once
// The user's --out folder: ./ikestorm-out/<name>-<UTC time> by default; an existing
// non-empty folder is refused unless --force.
#include <string>

#include "common/result.hpp"

namespace ist::run {

std::string default_output_dir(const std::string& scenario_name);
// Creates the folder (and parents). Refuses a non-empty existing folder unless force.
Result<std::string> prepare_output_dir(const std::string& path, bool force);

}  // namespace ist::run
