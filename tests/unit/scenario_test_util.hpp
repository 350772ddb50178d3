#pragma once
// Shared helpers for the scenario unit tests.
#include <filesystem>
#include <string>

#include "scenario/load.hpp"

namespace scenario_test {

inline std::filesystem::path source_dir() { return IST_SOURCE_DIR; }
inline std::filesystem::path fixture(const std::string& rel) {
  return source_dir() / "tests/fixtures/scenarios" / rel;
}

// Loads YAML text as if it were the file "test.yaml" in the fixtures folder.
inline ist::scenario::LoadOutcome load_yaml(const std::string& text,
                                            std::vector<ist::scenario::Override> overrides = {}) {
  return ist::scenario::load_text(
      text, ist::scenario::LoadOptions{"test.yaml", fixture("valid"), "test", std::move(overrides)});
}

}  // namespace scenario_test
