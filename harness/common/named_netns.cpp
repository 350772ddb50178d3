#include "common/named_netns.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

namespace ist {

std::string named_netns_path(const std::string& name) { return "/run/netns/" + name; }

bool named_netns_exists(const std::string& name) {
  return ::access(named_netns_path(name).c_str(), F_OK) == 0;
}

std::vector<std::string> list_named_netns() {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : std::filesystem::directory_iterator("/run/netns", ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Status remove_named_netns(const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos)
    return Error("invalid namespace name '" + name + "'");
  std::string path = named_netns_path(name);
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
    return Error::sys("unmounting " + path);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Error::sys("removing " + path);
  return ok();
}

}  // namespace ist
