#include "reports/number_text.hpp"

#include <cstdio>

namespace ist::reports {

std::string format_fixed(double v, int decimals) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

}  // namespace ist::reports
