#include "netns/privileges.hpp"

#include <linux/capability.h>

#include <fstream>
#include <sstream>
#include <string>

namespace ist::netns {

std::uint64_t effective_caps_from_status(std::string_view status_text) {
  std::istringstream in{std::string(status_text)};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    try {
      return std::stoull(line.substr(7), nullptr, 16);
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

Status check_caps(std::uint64_t caps) {
  const std::uint64_t need = (1ULL << CAP_NET_ADMIN) | (1ULL << CAP_SYS_ADMIN);
  if ((caps & need) == need) return ok();
  return Error(
      "building network namespaces needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN); run ikestorm "
      "as root, e.g. with sudo");
}

Status check_privileges() {
  std::ifstream f("/proc/self/status");
  std::stringstream text;
  text << f.rdbuf();
  return check_caps(effective_caps_from_status(text.str()));
}

}  // namespace ist::netns
