// RunState journal and the naming helpers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/child_process.hpp"
#include "common/run_state.hpp"
#include "common_test_util.hpp"

namespace ist {
namespace {

using testing_util::ScopedStateDir;
namespace fs = std::filesystem;

std::vector<std::string> names(const std::vector<Resource>& rs) {
  std::vector<std::string> out;
  for (const auto& r : rs) out.push_back(r.kind + ":" + r.name + (r.detail.empty() ? "" : "=" + r.detail));
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::trunc);
  f << text;
}

TEST(RunState, CreateWritesOwnerAndListsTheRun) {
  ScopedStateDir sd;
  auto st = RunState::create("a1b2c3");
  ASSERT_TRUE(st) << st.error().describe();
  EXPECT_EQ(st->dir(), sd.root() + "/a1b2c3");
  EXPECT_TRUE(fs::is_directory(st->dir()));
  EXPECT_EQ(st->owner_pid(), ::getpid());
  EXPECT_TRUE(st->owner_alive());
  EXPECT_EQ(RunState::list_runs(), std::vector<std::string>{"a1b2c3"});
  EXPECT_EQ(state_root(), sd.root());
}

TEST(RunState, RefusesDuplicateAndInvalidIds) {
  ScopedStateDir sd;
  ASSERT_TRUE(RunState::create("a1b2c3"));
  auto again = RunState::create("a1b2c3");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().errno_value, EEXIST);
  for (const char* bad : {"", "a1b2c", "a1b2c3d", "A1B2C3", "../../x", "zzzzzz"})
    EXPECT_FALSE(RunState::create(bad)) << bad;
  EXPECT_FALSE(RunState::open("b1b2b3"));
  EXPECT_TRUE(RunState::open("a1b2c3"));
}

TEST(RunState, ListIgnoresForeignEntries) {
  ScopedStateDir sd;
  ASSERT_TRUE(RunState::create("000001"));
  fs::create_directories(sd.root() + "/not-a-run");
  write_file(sd.root() + "/abcdef", "a file, not a folder");
  EXPECT_EQ(RunState::list_runs(), std::vector<std::string>{"000001"});
}

TEST(RunState, JournalKeepsOrderAndForgets) {
  ScopedStateDir sd;
  auto st = RunState::create("abc123");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->record({"netns", "ist-abc123-sut", ""}));
  ASSERT_TRUE(st->record({"netns", "ist-abc123-peers", ""}));
  ASSERT_TRUE(st->record({"link", "istabc123v0", "ist-abc123-sut"}));
  ASSERT_TRUE(st->record({"dir", "/tmp/x/y", ""}));
  ASSERT_TRUE(st->forget({"netns", "ist-abc123-peers", ""}));
  // Recorded again after being forgotten: it moves to the end.
  ASSERT_TRUE(st->record({"netns", "ist-abc123-sut", ""}));
  auto live = st->live_resources();
  ASSERT_TRUE(live);
  EXPECT_EQ(names(*live), (std::vector<std::string>{"link:istabc123v0=ist-abc123-sut", "dir:/tmp/x/y",
                                                     "netns:ist-abc123-sut"}));
}

TEST(RunState, TornAndMalformedLinesAreIgnored) {
  ScopedStateDir sd;
  auto st = RunState::create("abc123");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->record({"netns", "ist-abc123-sut", ""}));
  {
    std::ofstream f(st->dir() + "/resources", std::ios::app);
    f << "+ netns\n"        // no name
      << "garbage line\n"
      << "+\n"
      << "\n"
      << "* netns ist-abc123-x\n"
      << "-netns ist-abc123-sut\n";  // no space after the sign
  }
  ASSERT_TRUE(st->record({"mount", "/run/x", ""}));
  {
    std::ofstream f(st->dir() + "/resources", std::ios::app);
    f << "+ net";  // torn: the writer died mid-line
  }
  auto live = st->live_resources();
  ASSERT_TRUE(live);
  EXPECT_EQ(names(*live), (std::vector<std::string>{"netns:ist-abc123-sut", "mount:/run/x"}));
}

TEST(RunState, RecordRefusesNamesThatWouldBreakTheJournal) {
  ScopedStateDir sd;
  auto st = RunState::create("abc123");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->record({"netns", "two words", ""}));
  EXPECT_FALSE(st->record({"", "x", ""}));
  EXPECT_FALSE(st->record({"netns", "", ""}));
  EXPECT_FALSE(st->record({"netns", "x", "line\nbreak"}));
  auto live = st->live_resources();
  ASSERT_TRUE(live);
  EXPECT_TRUE(live->empty());
}

TEST(RunState, RecordProcessStoresStartTimeAndName) {
  ScopedStateDir sd;
  auto st = RunState::create("abc123");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->record_process(::getpid(), "charon"));
  auto live = st->live_resources();
  ASSERT_TRUE(live);
  ASSERT_EQ(live->size(), 1u);
  EXPECT_EQ((*live)[0].kind, "process");
  EXPECT_EQ((*live)[0].name, std::to_string(::getpid()));
  EXPECT_EQ((*live)[0].detail, std::to_string(*process_start_ticks(::getpid())) + " charon");
}

TEST(RunState, OwnerAliveNeedsPidAndStartTime) {
  ScopedStateDir sd;
  auto st = RunState::create("abc123");
  ASSERT_TRUE(st);
  const std::string owner = st->dir() + "/owner";
  const auto me = std::to_string(::getpid());
  const auto start = std::to_string(*process_start_ticks(::getpid()));
  struct Case {
    std::string text;
    bool alive;
  };
  const Case cases[] = {
      {me + " " + start + "\n", true},
      {me + " 1\n", false},               // same pid, other start: a reused pid
      {"999999999 " + start + "\n", false},  // no such process
      {"", false},
      {"garbage\n", false},
  };
  for (const auto& c : cases) {
    write_file(owner, c.text);
    EXPECT_EQ(st->owner_alive(), c.alive) << c.text;
  }
}

TEST(RunState, RemoveDeletesTheFolder) {
  ScopedStateDir sd;
  auto st = RunState::create("abc123");
  ASSERT_TRUE(st);
  ASSERT_TRUE(st->record({"netns", "ist-abc123-sut", ""}));
  ASSERT_TRUE(st->remove());
  EXPECT_FALSE(fs::exists(sd.root() + "/abc123"));
  EXPECT_TRUE(RunState::list_runs().empty());
}

TEST(RunState, PrivateDirIsMadeExclusivelyWith0700AndJournaled) {
  ScopedStateDir sd;
  const mode_t old_umask = ::umask(0);
  auto st = RunState::create("abc124");
  ASSERT_TRUE(st);
  auto made = st->create_private_dir("sockets-run-1");
  ::umask(old_umask);
  ASSERT_TRUE(made) << made.error().describe();
  EXPECT_EQ(*made, st->dir() + "/sockets-run-1");
  struct stat s {};
  ASSERT_EQ(::lstat(made->c_str(), &s), 0);
  EXPECT_TRUE(S_ISDIR(s.st_mode));
  EXPECT_EQ(s.st_mode & 07777, 0700u);
  auto live = st->live_resources();
  ASSERT_TRUE(live);
  EXPECT_EQ(names(*live), std::vector<std::string>{"dir:" + *made});
  // A folder already there (made by someone else, or a symlink) is refused, not reused.
  auto again = st->create_private_dir("sockets-run-1");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().describe().find("already exists"), std::string::npos) << again.error().describe();
  fs::create_symlink("/tmp", st->dir() + "/planted");
  EXPECT_FALSE(st->create_private_dir("planted"));
  // The refused ones are not left in the journal for `clean` to remove.
  live = st->live_resources();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->size(), 1u);
  for (const char* bad : {"", ".", "..", "a/b", "a b"}) EXPECT_FALSE(st->create_private_dir(bad)) << bad;
}

TEST(Naming, BuildsNamesFromRunIds) {
  EXPECT_EQ(netns_name("abc123", "sut"), "ist-abc123-sut");
  EXPECT_EQ(link_name("abc123", "v0"), "istabc123v0");
  EXPECT_EQ(link_name("abc123", "toolong"), "istabc123tool");  // 15-character limit
  EXPECT_LE(link_name("abc123", "toolong").size(), 15u);
  EXPECT_EQ(nft_table_name("abc123"), "ist_abc123");
  for (int i = 0; i < 50; ++i) {
    auto id = new_run_id();
    EXPECT_TRUE(is_valid_run_id(id)) << id;
  }
}

TEST(Naming, RunIdOfName) {
  struct Case {
    const char* name;
    std::optional<std::string> id;
  };
  const Case cases[] = {
      {"ist-abc123-sut", "abc123"}, {"ist-abc123-peers", "abc123"}, {"istabc123v0", "abc123"},
      {"ist_abc123", "abc123"},     {"ist-abc123", "abc123"},       {"ist-ABC123-sut", std::nullopt},
      {"ist-abc12", std::nullopt},  {"foo-abc123-sut", std::nullopt}, {"istxyz123", std::nullopt},
      {"", std::nullopt},           {"ist", std::nullopt},          {"ist-zzzzzz-sut", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(run_id_of_name(c.name), c.id) << c.name;
}

}  // namespace
}  // namespace ist
