#pragma once
// sweep: PATH: [values] axes, read by the loader (load.cpp) before it expands them into one
// document per point, each validated by validate().
#include <cstddef>
#include <string>
#include <vector>

#include "scenario/diagnostics.hpp"
#include "scenario/doc.hpp"

namespace ist::scenario::validation {

inline constexpr std::size_t kMaxSweepValues = 100;

struct Axis {
  std::string path;
  Origin key_origin;
  std::vector<Node> values;
};

// The axes in file order; problems go to diag (then the list may be partial or empty).
std::vector<Axis> read_sweep(const Node& root, Diagnostics& diag);

}  // namespace ist::scenario::validation
