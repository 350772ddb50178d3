// ChildProcess and run_command: exit status, signals, TERM->KILL escalation, reaping,
// spawn failures, output capture and timeouts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/child_process.hpp"
#include "common_test_util.hpp"

namespace ist {
namespace {

using namespace std::chrono_literals;
using SteadyNow = std::chrono::steady_clock;

// True when this process has no child left to reap (no zombies of ours).
bool no_unreaped_children() {
  int st = 0;
  return ::waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD;
}

// A zombie shows up in /proc/<pid>/stat with state 'Z'.
bool is_zombie(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::string all, line;
  while (std::getline(f, line)) all += line + "\n";
  return all;
}

using testing_util::TempDir;

ChildProcess spawn_sh(const std::string& script, SpawnOptions opts = {}) {
  opts.argv = {"/bin/sh", "-c", script};
  auto c = ChildProcess::spawn(opts);
  EXPECT_TRUE(c) << (c ? "" : c.error().describe());
  return c ? std::move(c).value() : ChildProcess{};
}

struct ExitCase {
  const char* script;
  bool exited;
  int code;
  int signal;
  const char* text;
};

class ChildExit : public ::testing::TestWithParam<ExitCase> {};

TEST_P(ChildExit, ReportsExitCodeOrSignal) {
  const auto& c = GetParam();
  auto child = spawn_sh(c.script);
  auto st = child.wait_for(10s);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->exited, c.exited);
  if (c.exited) {
    EXPECT_EQ(st->code, c.code);
  } else {
    EXPECT_EQ(st->signal, c.signal);
  }
  EXPECT_EQ(st->describe(), c.text);
  EXPECT_FALSE(child.running());
  EXPECT_TRUE(no_unreaped_children());
}

INSTANTIATE_TEST_SUITE_P(
    Table, ChildExit,
    ::testing::Values(ExitCase{"exit 0", true, 0, 0, "exited with 0"},
                      ExitCase{"exit 3", true, 3, 0, "exited with 3"},
                      ExitCase{"exit 255", true, 255, 0, "exited with 255"},
                      ExitCase{"kill -TERM $$", false, 0, SIGTERM, "killed by SIGTERM"},
                      ExitCase{"kill -KILL $$", false, 0, SIGKILL, "killed by SIGKILL"},
                      ExitCase{"kill -USR1 $$", false, 0, SIGUSR1, "killed by SIGUSR1"}));

TEST(ChildProcess, StopEndsAWillingChildWithSigterm) {
  auto child = spawn_sh("exec sleep 30");
  ASSERT_TRUE(child.running());
  auto t0 = SteadyNow::now();
  auto st = child.stop(5s);
  EXPECT_LT(SteadyNow::now() - t0, 3s);
  EXPECT_FALSE(st.exited);
  EXPECT_EQ(st.signal, SIGTERM);
  EXPECT_TRUE(no_unreaped_children());
}

TEST(ChildProcess, ChildIgnoringSigtermIsKilledAfterGrace) {
  TempDir dir;
  const std::string ready = dir.path() + "/ready";
  // An ignored signal stays ignored across exec, so `sleep` itself ignores SIGTERM.
  auto child = spawn_sh("trap '' TERM; : > " + ready + "; exec sleep 30");
  const pid_t pid = child.pid();
  auto wait_until = SteadyNow::now() + 10s;
  while (!std::filesystem::exists(ready) && SteadyNow::now() < wait_until)
    std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(std::filesystem::exists(ready));
  std::this_thread::sleep_for(20ms);  // let the shell reach exec

  auto t0 = SteadyNow::now();
  auto st = child.stop(400ms);
  auto took = SteadyNow::now() - t0;
  // poll() rounds to whole milliseconds: allow a little slack below the grace.
  EXPECT_GE(took, 380ms) << "SIGKILL came before the grace period ended";
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(st.exited);
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_FALSE(is_zombie(pid));
  EXPECT_TRUE(no_unreaped_children());
}

TEST(ChildProcess, DestructorStopsAndReaps) {
  pid_t pid;
  {
    auto child = spawn_sh("exec sleep 30");
    pid = child.pid();
    ASSERT_TRUE(child.running());
  }
  EXPECT_FALSE(is_zombie(pid));
  EXPECT_TRUE(no_unreaped_children());
}

TEST(ChildProcess, MovedFromObjectDoesNotStopTheChild) {
  auto a = spawn_sh("exec sleep 30");
  ChildProcess b = std::move(a);
  EXPECT_TRUE(b.running());
  EXPECT_EQ(b.stop(2s).signal, SIGTERM);
  EXPECT_TRUE(no_unreaped_children());
}

TEST(ChildProcess, SignalAfterExitIsAnError) {
  auto child = spawn_sh("exit 0");
  ASSERT_TRUE(child.wait_for(10s));
  EXPECT_FALSE(child.signal(SIGTERM));
}

TEST(ChildProcess, MissingBinaryIsAnErrorWithErrno) {
  SpawnOptions opts;
  opts.argv = {"/nonexistent/ikestorm-no-such-binary"};
  auto c = ChildProcess::spawn(opts);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().errno_value, ENOENT);
  EXPECT_NE(c.error().describe().find("exec"), std::string::npos) << c.error().describe();
  EXPECT_TRUE(no_unreaped_children());
}

TEST(ChildProcess, EmptyArgvIsAnError) {
  EXPECT_FALSE(ChildProcess::spawn(SpawnOptions{}));
}

TEST(ChildProcess, MissingNetnsIsAnError) {
  SpawnOptions opts;
  opts.argv = {"/bin/true"};
  opts.netns = "ist-000000-doesnotexist";
  auto c = ChildProcess::spawn(opts);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().errno_value, ENOENT);
}

TEST(ChildProcess, WritesOutputFilesAndPassesEnvironment) {
  TempDir dir;
  SpawnOptions opts;
  opts.stdout_path = dir.path() + "/out";
  opts.stderr_path = dir.path() + "/err";
  opts.extra_env = {"IST_UNIT_VALUE=hello"};
  opts.cwd = dir.path();
  auto child = spawn_sh("echo \"$IST_UNIT_VALUE\"; pwd; echo oops >&2", opts);
  auto st = child.wait_for(10s);
  ASSERT_TRUE(st && st->exited && st->code == 0);
  EXPECT_EQ(slurp(opts.stdout_path), "hello\n" + dir.path() + "\n");
  EXPECT_EQ(slurp(opts.stderr_path), "oops\n");
}

TEST(ChildProcess, ExplicitEnvironmentReplacesTheInheritedOne) {
  TempDir dir;
  ::setenv("IST_UNIT_INHERITED", "yes", 1);
  SpawnOptions opts;
  opts.stdout_path = dir.path() + "/out";
  opts.env = {"ONLY=1"};
  auto child = spawn_sh("echo \"${IST_UNIT_INHERITED:-unset} $ONLY\"", opts);
  ASSERT_TRUE(child.wait_for(10s));
  EXPECT_EQ(slurp(opts.stdout_path), "unset 1\n");
  ::unsetenv("IST_UNIT_INHERITED");
}

TEST(ChildProcess, StopWithinWaitForTimesOutWhileRunning) {
  auto child = spawn_sh("exec sleep 30");
  auto t0 = SteadyNow::now();
  EXPECT_FALSE(child.wait_for(100ms).has_value());
  EXPECT_GE(SteadyNow::now() - t0, 98ms);  // wait_for rounds its poll timeout down (ms)
  EXPECT_TRUE(child.running());
  child.stop(2s);
  EXPECT_TRUE(no_unreaped_children());
}

TEST(RunCommand, CapturesCombinedOutputAndStatus) {
  auto r = run_command({"/bin/sh", "-c", "echo out; echo err >&2; exit 7"}, 10s);
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_FALSE(r->timed_out);
  EXPECT_TRUE(r->status.exited);
  EXPECT_EQ(r->status.code, 7);
  EXPECT_NE(r->output.find("out\n"), std::string::npos);
  EXPECT_NE(r->output.find("err\n"), std::string::npos);
  EXPECT_TRUE(no_unreaped_children());
}

TEST(RunCommand, KillsACommandPastItsTimeout) {
  auto t0 = SteadyNow::now();
  auto r = run_command({"/bin/sleep", "30"}, 200ms);
  auto took = SteadyNow::now() - t0;
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_TRUE(r->timed_out);
  EXPECT_FALSE(r->status.exited);
  EXPECT_GE(took, 198ms);  // poll timeouts are rounded down to whole ms
  EXPECT_LT(took, 5s);
  EXPECT_TRUE(no_unreaped_children());
}

TEST(RunCommand, BoundsTheOutput) {
  auto r = run_command({"/bin/sh", "-c", "head -c 100000 /dev/zero"}, 10s, "", 1000);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->output.size(), 1000u);
  EXPECT_TRUE(r->status.exited);
}

TEST(RunCommand, MissingBinaryIsAnError) {
  auto r = run_command({"/nonexistent/no-such-tool"}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errno_value, ENOENT);
}

TEST(ProcessInfo, StartTicksAndUsage) {
  auto mine = process_start_ticks(::getpid());
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(process_start_ticks(::getpid()), mine);  // stable
  auto child = spawn_sh("exec sleep 30");
  auto theirs = process_start_ticks(child.pid());
  ASSERT_TRUE(theirs.has_value());
  EXPECT_GE(*theirs, *mine);
  auto usage = process_usage(::getpid());
  ASSERT_TRUE(usage.has_value());
  EXPECT_GT(usage->rss_peak_mb, 0.0);
  const pid_t pid = child.pid();
  child.stop(2s);
  EXPECT_FALSE(process_start_ticks(pid).has_value());
  EXPECT_FALSE(process_usage(pid).has_value());
}

TEST(ChildProcess, ThreadWaitSummaryNamesWhereEachThreadWaits) {
  auto child = spawn_sh("exec sleep 30");
  // A sleeping process: its one thread waits in the kernel's nanosleep, not "running".
  std::string waits;
  for (int i = 0; i < 100; ++i) {
    waits = thread_wait_summary(child.pid());
    if (waits.find("sleep") != std::string::npos) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(waits.rfind("1 thread; waiting in ", 0), 0u) << waits;
  EXPECT_NE(waits.find("sleep 1"), std::string::npos) << waits;
  const pid_t pid = child.pid();
  child.stop(2s);
  EXPECT_EQ(thread_wait_summary(pid), "");
}

TEST(ChildProcess, ThreadBacktracesOfAStoppedProcessAreWrittenOrRefusedWithAReason) {
  auto child = spawn_sh("exec sleep 30");
  ASSERT_TRUE(child.signal(SIGSTOP).ok());  // as a deadlocked daemon: alive, doing nothing
  const std::string path = ::testing::TempDir() + "/backtraces.txt";
  auto st = write_thread_backtraces(child.pid(), path, 20s);
  if (::access("/usr/bin/gdb", X_OK) == 0 && ::geteuid() == 0) {  // not root: ptrace may be refused
    ASSERT_TRUE(st.ok()) << st.error().describe();
    std::ifstream f(path);
    std::string text;
    for (std::string line; std::getline(f, line);) text += line + "\n";
    EXPECT_NE(text.find("#0"), std::string::npos) << text.substr(0, 2000);
  } else if (::access("/usr/bin/gdb", X_OK) != 0) {
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().describe().find("gdb is not installed"), std::string::npos);
  }
  (void)child.signal(SIGCONT);
  child.stop(2s);
}

}  // namespace
}  // namespace ist
