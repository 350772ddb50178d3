#pragma once
// Helpers shared by the common unit tests.
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace ist::testing_util {

// A private folder under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/ist-unit-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Points IKESTORM_STATE_DIR at a private folder for the lifetime of the object, so tests
// never see or touch real runs in /run/ikestorm.
class ScopedStateDir {
 public:
  ScopedStateDir() {
    const char* old = std::getenv("IKESTORM_STATE_DIR");
    if (old) old_ = old, had_ = true;
    ::setenv("IKESTORM_STATE_DIR", (dir_.path() + "/state").c_str(), 1);
  }
  ~ScopedStateDir() {
    if (had_) ::setenv("IKESTORM_STATE_DIR", old_.c_str(), 1);
    else ::unsetenv("IKESTORM_STATE_DIR");
  }
  std::string root() const { return dir_.path() + "/state"; }
  const std::string& scratch() const { return dir_.path(); }

 private:
  TempDir dir_;
  std::string old_;
  bool had_ = false;
};

}  // namespace ist::testing_util
