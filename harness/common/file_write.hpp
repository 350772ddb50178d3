#pragma once
// Writing a whole file so that a reader never sees half of it.
#include <string>

#include "common/result.hpp"

namespace ist {

// Writes `content` to `path` atomically: a temp file in the same folder (named with this
// process's pid), then rename. The temp file is removed when anything fails.
Status write_file_atomic(const std::string& path, const std::string& content);

}  // namespace ist
