#include "common/file_write.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

namespace ist {

Status write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Error::sys("writing " + tmp);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.flush();
    if (!f) {
      const int e = errno;
      ::unlink(tmp.c_str());
      return Error::sys("writing " + tmp, e);
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmp.c_str());
    return Error::sys("renaming " + tmp + " to " + path, e);
  }
  return ok();
}

}  // namespace ist
