#pragma once
// Numbers as the reports and the console print them.
#include <string>

namespace ist::reports {

// `v` with exactly `decimals` digits after the point ("%.*f": 12.345, 1 -> "12.3").
std::string format_fixed(double v, int decimals = 1);

}  // namespace ist::reports
