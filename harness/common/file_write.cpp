#include "common/file_write.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "common/hex.hpp"
#include "common/unique_fd.hpp"

namespace ist {
namespace {

// 16 hex digits from the kernel's random source: a temp name no one can predict.
Result<std::string> random_suffix() {
  unsigned char raw[8];
  std::size_t got = 0;
  while (got < sizeof raw) {
    ssize_t n = ::getrandom(raw + got, sizeof raw - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("getrandom");
    }
    got += static_cast<std::size_t>(n);
  }
  return to_hex(raw);
}

Status write_all(int fd, std::string_view content, const std::string& path) {
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("writing " + path);
    }
    off += static_cast<std::size_t>(n);
  }
  return ok();
}

}  // namespace

Status write_file_atomic(const std::string& path, std::string_view content, mode_t mode) {
  return file_write_detail::write_file_atomic(path, content, mode, random_suffix);
}

Status file_write_detail::write_file_atomic(const std::string& path, std::string_view content, mode_t mode,
                                            const std::function<Result<std::string>()>& next_suffix) {
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : path.substr(0, slash + 1);
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return Error("writing " + path + ": not a file name");

  // A clash with an existing name (ours or planted) is refused by O_EXCL: try a new name.
  std::string tmp;
  unique_fd fd;
  for (int attempt = 0; attempt < 8 && !fd; ++attempt) {
    auto suffix = next_suffix();
    if (!suffix) return std::move(suffix).error();
    tmp = dir + "." + base + ".tmp-" + *suffix;
    fd.reset(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
    if (!fd && errno != EEXIST) return Error::sys("creating " + tmp);
  }
  if (!fd) return Error("creating a temp file next to " + path + ": every random name was taken");

  auto fail = [&tmp](Error e) -> Status {
    ::unlink(tmp.c_str());
    return e;
  };
  if (auto st = write_all(fd.get(), content, tmp); !st) return fail(std::move(st).error());
  // close() can report a delayed write error (NFS, quota): check it.
  if (::close(fd.release()) != 0) return fail(Error::sys("writing " + tmp));
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return fail(Error::sys("renaming " + tmp + " to " + path));
  return ok();
}

}  // namespace ist
