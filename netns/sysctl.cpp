#include "netns/sysctl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/unique_fd.hpp"

namespace ist::netns {

std::string sysctl_path(const std::string& key) {
  std::string rel = key;
  std::replace(rel.begin(), rel.end(), '.', '/');
  return "/proc/sys/" + rel;
}

Result<bool> write_sysctl(const Sysctl& s) {
  const std::string path = sysctl_path(s.key);
  unique_fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) {
    if (s.optional && (errno == ENOENT || errno == EACCES || errno == EPERM || errno == EROFS)) return false;
    return Error::sys("opening sysctl " + s.key);
  }
  if (::write(fd.get(), s.value.data(), s.value.size()) != static_cast<ssize_t>(s.value.size()))
    return Error::sys("setting sysctl " + s.key + " = " + s.value);
  return true;
}

Status write_sysctls(const std::vector<Sysctl>& list, std::vector<std::string>* skipped) {
  for (const auto& s : list) {
    IST_TRY_ASSIGN(bool written, write_sysctl(s));
    if (!written && skipped) skipped->push_back(s.key);
  }
  return ok();
}

Result<std::string> read_sysctl(const std::string& key) {
  const std::string path = sysctl_path(key);
  unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return Error::sys("opening sysctl " + key);
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf);
  if (n < 0) return Error::sys("reading sysctl " + key);
  std::string v(buf, static_cast<std::size_t>(n));
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

std::string skipped_sysctls_note(const std::vector<std::string>& skipped) {
  if (skipped.empty()) return "";
  std::string note = "sysctls not settable here (left as the kernel has them): ";
  for (std::size_t i = 0; i < skipped.size(); ++i) note += (i ? ", " : "") + skipped[i];
  return note;
}

}  // namespace ist::netns
