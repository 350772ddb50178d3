#include "run/output_dir.hpp"

#include <filesystem>

#include "common/clock.hpp"

namespace fs = std::filesystem;

namespace ist::run {

std::string default_output_dir(const std::string& scenario_name) {
  return "ikestorm-out/" + scenario_name + "-" + utc_timestamp(true);
}

Result<std::string> prepare_output_dir(const std::string& path, bool force) {
  std::error_code ec;
  if (fs::exists(path, ec)) {
    if (!fs::is_directory(path, ec)) return Error("--out " + path + " exists and is not a folder");
    if (!fs::is_empty(path, ec) && !force)
      return Error("--out " + path + " is not empty; choose another folder or pass --force");
  } else {
    fs::create_directories(path, ec);
    if (ec) return Error("creating " + path + ": " + ec.message());
  }
  return fs::absolute(path, ec).string();
}

}  // namespace ist::run
