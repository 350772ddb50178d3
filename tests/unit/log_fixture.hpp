#pragma once
// The recorded charon logs under tests/fixtures/logs (IST_FIXTURES_DIR), read whole.
#include <fstream>
#include <sstream>
#include <string>

namespace ist::charon {

inline std::string read_fixture(const std::string& rel) {
  std::ifstream f(std::string(IST_FIXTURES_DIR) + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace ist::charon
