// write_file_atomic: random O_EXCL|O_NOFOLLOW temp names, modes set at creation, errors reported.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "common/file_write.hpp"
#include "common_test_util.hpp"

namespace ist {
namespace {

using testing_util::TempDir;
namespace fs = std::filesystem;

std::string read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

// Restores the umask when the test ends.
struct ScopedUmask {
  explicit ScopedUmask(mode_t m) : old(::umask(m)) {}
  ~ScopedUmask() { ::umask(old); }
  mode_t old;
};

std::size_t entries(const std::string& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(FileWrite, WritesAndReplacesWithoutLeavingTempFiles) {
  TempDir d;
  const std::string p = d.path() + "/report.json";
  ASSERT_TRUE(write_file_atomic(p, "first\n"));
  ASSERT_TRUE(write_file_atomic(p, std::string("second\0x", 8)));
  EXPECT_EQ(read(p), std::string("second\0x", 8));
  EXPECT_EQ(entries(d.path()), 1u);
}

TEST(FileWrite, PrivateModeIsSetAtCreationEvenWithUmaskZero) {
  TempDir d;
  ScopedUmask u(0);
  const std::string key = d.path() + "/sut.key";
  ASSERT_TRUE(write_file_atomic(key, "-----BEGIN PRIVATE KEY-----\n", 0600));
  EXPECT_EQ(mode_of(key), 0600u);
  const std::string pub = d.path() + "/sut.pem";
  ASSERT_TRUE(write_file_atomic(pub, "cert\n"));
  EXPECT_EQ(mode_of(pub), 0644u);
}

TEST(FileWrite, TempNamesAreRandomNotThePid) {
  TempDir d;
  const std::string p = d.path() + "/f";
  // A symlink planted at the old predictable name must neither be followed nor replaced.
  const std::string victim = d.path() + "/victim";
  ASSERT_TRUE(write_file_atomic(victim, "untouched"));
  const std::string predictable = p + ".tmp." + std::to_string(::getpid());
  fs::create_symlink(victim, predictable);
  ASSERT_TRUE(write_file_atomic(p, "new"));
  EXPECT_EQ(read(p), "new");
  EXPECT_EQ(read(victim), "untouched");
  EXPECT_TRUE(fs::is_symlink(predictable));
  EXPECT_FALSE(fs::is_symlink(p));
}

TEST(FileWrite, ASymlinkAtTheTempNameIsNotFollowed) {
  TempDir d;
  const std::string victim = d.path() + "/victim";
  ASSERT_TRUE(write_file_atomic(victim, "untouched"));
  const std::string p = d.path() + "/out";
  // Someone guessed the first temp name and put a symlink there: O_EXCL|O_NOFOLLOW refuse
  // it, the writer takes the next name, and the symlink's target is not written.
  fs::create_symlink(victim, d.path() + "/.out.tmp-guessed");
  std::vector<std::string> names{"guessed", "fresh"};
  std::size_t next = 0;
  auto suffixes = [&]() -> Result<std::string> { return names.at(next++); };
  ASSERT_TRUE(file_write_detail::write_file_atomic(p, "new", 0644, suffixes));
  EXPECT_EQ(next, 2u);
  EXPECT_EQ(read(p), "new");
  EXPECT_EQ(read(victim), "untouched");
  EXPECT_TRUE(fs::is_symlink(d.path() + "/.out.tmp-guessed"));
  EXPECT_FALSE(fs::exists(d.path() + "/.out.tmp-fresh"));
  // Every name taken: an error, nothing written through the symlink.
  auto always_guessed = []() -> Result<std::string> { return std::string("guessed"); };
  auto st = file_write_detail::write_file_atomic(p, "again", 0644, always_guessed);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().describe().find("every random name was taken"), std::string::npos);
  EXPECT_EQ(read(victim), "untouched");
  EXPECT_EQ(read(p), "new");
}

TEST(FileWrite, FailuresAreReportedAndLeaveNothing) {
  TempDir d;
  auto missing = write_file_atomic(d.path() + "/no/such/folder/f", "x");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().describe().find("creating"), std::string::npos) << missing.error().describe();
  // A write that fails (here: over the file size limit, EFBIG) is an error, the temp file
  // is removed and the old content stays.
  ASSERT_TRUE(write_file_atomic(d.path() + "/kept", "old"));
  {
    struct rlimit old {};
    ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
    auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 4;
    ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
    auto big = write_file_atomic(d.path() + "/kept", std::string(100, 'x'));
    ::setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().describe().find("writing"), std::string::npos) << big.error().describe();
  }
  EXPECT_EQ(read(d.path() + "/kept"), "old");
  // A target that is a folder: rename fails, the temp file is removed.
  fs::create_directories(d.path() + "/adir/inner");
  auto onto_dir = write_file_atomic(d.path() + "/adir", "x");
  ASSERT_FALSE(onto_dir);
  EXPECT_NE(onto_dir.error().describe().find("renaming"), std::string::npos) << onto_dir.error().describe();
  EXPECT_EQ(entries(d.path()), 2u);  // adir and kept, no temp file
  EXPECT_FALSE(write_file_atomic(d.path() + "/", "x"));
}

}  // namespace
}  // namespace ist
