// cleanup::clean on journals in a private state folder: order, dry run, live owners, pid
// reuse, refusals. Needs no privileges: processes are our own children, namespaces are
// recorded but absent (the privileged tests cover real namespaces).
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/child_process.hpp"
#include "common/cleanup.hpp"
#include "common/run_state.hpp"
#include "common_test_util.hpp"

namespace ist::cleanup {
namespace {

using namespace std::chrono_literals;
using testing_util::ScopedStateDir;
namespace fs = std::filesystem;

ChildProcess sleeper() {
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  auto c = ChildProcess::spawn(o);
  EXPECT_TRUE(c);
  return std::move(c).value();
}

// A run whose owner is dead: the owner file names our pid with a start time that is not ours.
RunState dead_run(const std::string& id) {
  auto st = RunState::create(id);
  EXPECT_TRUE(st) << st.error().describe();
  std::ofstream(st->dir() + "/owner", std::ios::trunc) << ::getpid() << " 1\n";
  return std::move(st).value();
}

std::vector<std::string> lines(const Summary& s) {
  std::vector<std::string> out;
  for (const auto& a : s.actions) out.push_back(a.describe());
  return out;
}

Options only(const std::string& id) {
  Options o;
  o.run_id = id;
  o.grace = 1s;
  return o;
}

TEST(Cleanup, DescribesEachOutcome) {
  struct Case {
    Action a;
    const char* text;
  };
  const Case cases[] = {
      {{Outcome::removed, "abc123", "netns", "ist-abc123-sut", ""}, "removed netns ist-abc123-sut (run abc123)"},
      {{Outcome::would_remove, "abc123", "dir", "/tmp/a/b", ""}, "would remove dir /tmp/a/b (run abc123)"},
      {{Outcome::already_gone, "abc123", "process", "12 charon", ""}, "already gone process 12 charon (run abc123)"},
      {{Outcome::left_alone, "abc123", "run", "abc123", "owner alive"}, "left alone run abc123 (run abc123): owner alive"},
      {{Outcome::failed, "", "mount", "/x/y", "busy"}, "failed to remove mount /x/y: busy"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.a.describe(), c.text);
}

TEST(Cleanup, OurProcessNames) {
  EXPECT_TRUE(is_our_process_name("charon"));
  EXPECT_TRUE(is_our_process_name("qemu-system-x86"));  // qemu-system-x86_64 as comm shows it
  EXPECT_TRUE(is_our_process_name("ikestorm"));
  for (const char* other : {"", "sleep", "sshd", "charon2", "qemu", "systemd", "bash"})
    EXPECT_FALSE(is_our_process_name(other)) << other;
}

TEST(Cleanup, RemovesADeadRunsResourcesInOrder) {
  ScopedStateDir sd;
  auto child = sleeper();
  auto st = dead_run("c0ffee");
  const std::string dir = sd.scratch() + "/charon-run";
  fs::create_directories(dir + "/sub");
  std::ofstream(dir + "/sub/file") << "x";
  ASSERT_TRUE(st.record({"dir", dir, ""}));
  ASSERT_TRUE(st.record({"netns", "ist-c0ffee-sut", ""}));  // recorded, never created
  ASSERT_TRUE(st.record({"mount", sd.scratch() + "/not-mounted", ""}));
  ASSERT_TRUE(st.record_process(child.pid(), "sleep"));

  auto s = clean(only("c0ffee"));
  const auto pid = std::to_string(child.pid());
  EXPECT_EQ(lines(s), (std::vector<std::string>{
                          "removed process " + pid + " sleep (run c0ffee)",
                          "already gone mount " + sd.scratch() + "/not-mounted (run c0ffee)",
                          "already gone netns ist-c0ffee-sut (run c0ffee)",
                          "removed dir " + dir + " (run c0ffee)",
                          "removed state " + sd.root() + "/c0ffee (run c0ffee)",
                      }));
  EXPECT_TRUE(s.ok());
  auto status = child.wait_for(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->signal, SIGTERM);
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(sd.root() + "/c0ffee"));
}

TEST(Cleanup, DryRunChangesNothing) {
  ScopedStateDir sd;
  auto child = sleeper();
  auto st = dead_run("d00d00");
  const std::string dir = sd.scratch() + "/keep";
  fs::create_directories(dir);
  ASSERT_TRUE(st.record({"dir", dir, ""}));
  ASSERT_TRUE(st.record_process(child.pid(), "sleep"));
  Options o = only("d00d00");
  o.dry_run = true;
  auto s = clean(o);
  EXPECT_EQ(s.count(Outcome::would_remove), 3);  // process, dir, state
  EXPECT_EQ(s.count(Outcome::removed), 0);
  EXPECT_TRUE(child.running());
  EXPECT_TRUE(fs::exists(dir));
  auto live = st.live_resources();
  ASSERT_TRUE(live);
  EXPECT_EQ(live->size(), 2u);
}

TEST(Cleanup, LeavesLiveRunsAloneUnlessForced) {
  ScopedStateDir sd;
  auto st = RunState::create("beef01");  // owned by this (live) process
  ASSERT_TRUE(st);
  const std::string dir = sd.scratch() + "/live";
  fs::create_directories(dir);
  ASSERT_TRUE(st->record({"dir", dir, ""}));

  auto s = clean(only("beef01"));
  ASSERT_EQ(s.actions.size(), 1u);
  EXPECT_EQ(s.actions[0].outcome, Outcome::left_alone);
  EXPECT_EQ(s.actions[0].kind, "run");
  EXPECT_TRUE(fs::exists(dir));

  Options forced = only("beef01");
  forced.force = true;
  auto f = clean(forced);
  EXPECT_EQ(f.count(Outcome::removed), 2);  // dir, state
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(fs::exists(sd.root() + "/beef01"));
}

TEST(Cleanup, NeverSignalsAReusedPid) {
  ScopedStateDir sd;
  auto child = sleeper();
  auto st = dead_run("aaaaa1");
  // Same pid, different start time: the journal's process is gone, this is someone else.
  ASSERT_TRUE(st.record({"process", std::to_string(child.pid()), "1 sleep"}));
  auto s = clean(only("aaaaa1"));
  ASSERT_FALSE(s.actions.empty());
  EXPECT_EQ(s.actions[0].outcome, Outcome::already_gone);
  EXPECT_EQ(s.actions[0].detail, "pid now belongs to another process");
  EXPECT_TRUE(child.running());
}

TEST(Cleanup, NeverSignalsAProcessWithoutRecordedStartTime) {
  ScopedStateDir sd;
  auto child = sleeper();
  auto st = dead_run("aaaaa2");
  ASSERT_TRUE(st.record({"process", std::to_string(child.pid()), "0 sleep"}));
  ASSERT_TRUE(st.record({"process", "1", "1 init"}));
  auto s = clean(only("aaaaa2"));
  ASSERT_GE(s.actions.size(), 2u);
  EXPECT_EQ(s.actions[0].outcome, Outcome::left_alone);
  EXPECT_EQ(s.actions[1].outcome, Outcome::left_alone);  // pid 1 is never ours
  EXPECT_TRUE(child.running());
}

TEST(Cleanup, RefusesDangerousFoldersAndForeignNames) {
  ScopedStateDir sd;
  auto st = dead_run("aaaaa3");
  ASSERT_TRUE(st.record({"dir", "/tmp", ""}));
  ASSERT_TRUE(st.record({"dir", "/", ""}));
  ASSERT_TRUE(st.record({"dir", "relative/path", ""}));
  ASSERT_TRUE(st.record({"dir", "/tmp/../etc", ""}));
  ASSERT_TRUE(st.record({"netns", "someones-namespace", ""}));
  ASSERT_TRUE(st.record({"link", "eth0", ""}));
  ASSERT_TRUE(st.record({"mount", "/run", ""}));
  ASSERT_TRUE(st.record({"mount", "/run/netns", ""}));
  ASSERT_TRUE(st.record({"mount", "/proc", ""}));
  auto s = clean(only("aaaaa3"));
  for (const auto& a : s.actions) {
    if (a.kind == "state") continue;
    EXPECT_EQ(a.outcome, Outcome::left_alone) << a.describe();
  }
  EXPECT_TRUE(fs::exists("/tmp"));
  EXPECT_EQ(s.count(Outcome::left_alone), 9);
}

TEST(Cleanup, UnknownKindsKeepTheJournal) {
  ScopedStateDir sd;
  auto st = dead_run("aaaaa4");
  ASSERT_TRUE(st.record({"gadget", "thing", ""}));
  auto s = clean(only("aaaaa4"));
  ASSERT_EQ(s.actions.size(), 1u);
  EXPECT_EQ(s.actions[0].outcome, Outcome::left_alone);
  EXPECT_TRUE(fs::exists(sd.root() + "/aaaaa4"));
}

TEST(Cleanup, SecondCleanFindsNothing) {
  ScopedStateDir sd;
  auto st = dead_run("aaaaa5");
  ASSERT_TRUE(st.record({"dir", sd.scratch() + "/gone/x", ""}));
  auto first = clean(only("aaaaa5"));
  EXPECT_TRUE(first.ok());
  EXPECT_FALSE(fs::exists(sd.root() + "/aaaaa5"));
  EXPECT_TRUE(clean(only("aaaaa5")).actions.empty());
}

}  // namespace
}  // namespace ist::cleanup
