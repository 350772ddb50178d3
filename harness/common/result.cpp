#include "common/result.hpp"

#include <cstring>

namespace ist {

std::string Error::describe() const {
  std::string out;
  for (auto it = context.rbegin(); it != context.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message;
  if (errno_value != 0) {
    out += " (";
    out += std::strerror(errno_value);
    out += ")";
  }
  return out;
}

}  // namespace ist
