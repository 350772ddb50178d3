// Needs root. Real named namespaces (ist-<fresh runid>-*), processes inside them, clean of
// orphans and of journaled runs, and probe_host() leaving nothing behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "common/child_process.hpp"
#include "common/cleanup.hpp"
#include "common/named_netns.hpp"
#include "common/probe.hpp"
#include "common/run_state.hpp"

namespace ist {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const char* ip_tool() { return ::access("/usr/sbin/ip", X_OK) == 0 ? "/usr/sbin/ip" : "/sbin/ip"; }

// A namespace made with `ip netns add` (not by the code under test); removed at the end
// whatever happened.
class TestNetns {
 public:
  explicit TestNetns(std::string name) : name_(std::move(name)) {
    auto r = run_command({ip_tool(), "netns", "add", name_}, 10s);
    ok_ = r && r->status.exited && r->status.code == 0;
  }
  ~TestNetns() { (void)remove_named_netns(name_); }
  bool ok() const { return ok_; }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  bool ok_ = false;
};

class Privileged : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    char tmpl[] = "/tmp/ist-priv-XXXXXX";
    scratch_ = ::mkdtemp(tmpl);
    ::setenv("IKESTORM_STATE_DIR", (scratch_ + "/state").c_str(), 1);
    run_id_ = new_run_id();
  }
  void TearDown() override {
    ::unsetenv("IKESTORM_STATE_DIR");
    if (!scratch_.empty()) fs::remove_all(scratch_);
  }
  cleanup::Options only_this_run() const {
    cleanup::Options o;
    o.run_id = run_id_;
    o.grace = 1s;
    return o;
  }
  std::string scratch_;
  std::string run_id_;
};

ino_t inode_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::string all, line;
  while (std::getline(f, line)) all += line + "\n";
  return all;
}

TEST_F(Privileged, ChildJoinsTheNamedNamespace) {
  TestNetns ns(netns_name(run_id_, "child"));
  ASSERT_TRUE(ns.ok());
  SpawnOptions o;
  o.argv = {"/bin/sleep", "30"};
  o.netns = ns.name();
  auto child = ChildProcess::spawn(o);
  ASSERT_TRUE(child) << child.error().describe();
  EXPECT_EQ(inode_of("/proc/" + std::to_string(child->pid()) + "/ns/net"),
            inode_of(named_netns_path(ns.name())));
  EXPECT_NE(inode_of("/proc/self/ns/net"), inode_of(named_netns_path(ns.name())));
  child->stop(2s);
}

TEST_F(Privileged, PrivateRunDirIsMountedOverRunForTheChildOnly) {
  const std::string run_dir = scratch_ + "/run";
  fs::create_directories(run_dir);
  std::ofstream(run_dir + "/ist-marker") << "x";
  SpawnOptions o;
  o.argv = {"/bin/ls", "/run"};
  o.private_run_dir = run_dir;
  o.stdout_path = scratch_ + "/ls.out";
  auto child = ChildProcess::spawn(o);
  ASSERT_TRUE(child) << child.error().describe();
  auto st = child->wait_for(10s);
  ASSERT_TRUE(st && st->exited && st->code == 0);
  EXPECT_EQ(read_all(o.stdout_path), "ist-marker\n");
  EXPECT_FALSE(fs::exists("/run/ist-marker"));
}

TEST_F(Privileged, RunCommandInNamespaceSeesOnlyLoopback) {
  TestNetns ns(netns_name(run_id_, "cmd"));
  ASSERT_TRUE(ns.ok());
  auto r = run_command({ip_tool(), "-o", "link", "show"}, 10s, ns.name());
  ASSERT_TRUE(r) << r.error().describe();
  EXPECT_EQ(r->status.code, 0);
  EXPECT_NE(r->output.find(": lo:"), std::string::npos) << r->output;
  EXPECT_EQ(std::count(r->output.begin(), r->output.end(), '\n'), 1) << r->output;
}

TEST_F(Privileged, CleanRemovesAJournaledNamespaceAndItsCharon) {
  // A run that died: journaled namespace, a process named "charon" inside it.
  auto st = RunState::create(run_id_);
  ASSERT_TRUE(st);
  const std::string ns = netns_name(run_id_, "sut");
  ASSERT_TRUE(st->record({"netns", ns, ""}));
  TestNetns made(ns);
  ASSERT_TRUE(made.ok());
  const std::string fake_charon = scratch_ + "/charon";
  fs::copy_file("/bin/sleep", fake_charon);
  SpawnOptions o;
  o.argv = {fake_charon, "30"};
  o.netns = ns;
  auto child = ChildProcess::spawn(o);
  ASSERT_TRUE(child);
  ASSERT_TRUE(st->record_process(child->pid(), "charon"));
  std::ofstream(st->dir() + "/owner", std::ios::trunc) << ::getpid() << " 1\n";  // owner dead

  auto s = cleanup::clean(only_this_run());
  EXPECT_TRUE(s.ok());
  EXPECT_FALSE(named_netns_exists(ns));
  EXPECT_FALSE(fs::exists(st->dir()));
  auto status = child->wait_for(5s);
  ASSERT_TRUE(status);
  EXPECT_EQ(status->signal, SIGTERM);
}

TEST_F(Privileged, CleanRemovesOrphanNamespacesButNotForeignProcesses) {
  // No state folder at all: both namespaces are orphans.
  TestNetns with_charon(netns_name(run_id_, "orph1"));
  TestNetns with_sleep(netns_name(run_id_, "orph2"));
  ASSERT_TRUE(with_charon.ok() && with_sleep.ok());
  const std::string fake_charon = scratch_ + "/charon";
  fs::copy_file("/bin/sleep", fake_charon);
  SpawnOptions a;
  a.argv = {fake_charon, "30"};
  a.netns = with_charon.name();
  auto charon = ChildProcess::spawn(a);
  SpawnOptions b;
  b.argv = {"/bin/sleep", "30"};
  b.netns = with_sleep.name();
  auto sleeper = ChildProcess::spawn(b);
  ASSERT_TRUE(charon && sleeper);

  // Dry run first: nothing changes.
  auto dry_opts = only_this_run();
  dry_opts.dry_run = true;
  auto dry = cleanup::clean(dry_opts);
  EXPECT_EQ(dry.count(cleanup::Outcome::would_remove), 3);  // charon + 2 namespaces
  EXPECT_TRUE(named_netns_exists(with_charon.name()));
  EXPECT_TRUE(charon->running());

  auto s = cleanup::clean(only_this_run());
  EXPECT_FALSE(named_netns_exists(with_charon.name()));
  EXPECT_FALSE(named_netns_exists(with_sleep.name()));
  auto cs = charon->wait_for(5s);
  ASSERT_TRUE(cs);
  EXPECT_EQ(cs->signal, SIGTERM);
  EXPECT_TRUE(sleeper->running()) << "a process that is not ours must never be killed";
  bool reported = false;
  for (const auto& act : s.actions)
    if (act.outcome == cleanup::Outcome::left_alone && act.kind == "process" &&
        act.name == std::to_string(sleeper->pid()) + " sleep")
      reported = true;
  EXPECT_TRUE(reported);
  sleeper->stop(2s);
}

TEST_F(Privileged, CleanLeavesOtherRunsNamespacesAlone) {
  const std::string other_id = new_run_id();
  if (other_id == run_id_) GTEST_SKIP() << "run id collision";
  TestNetns other(netns_name(other_id, "keep"));
  ASSERT_TRUE(other.ok());
  auto s = cleanup::clean(only_this_run());
  EXPECT_TRUE(named_netns_exists(other.name()));
  for (const auto& a : s.actions) EXPECT_EQ(a.run_id, run_id_) << a.describe();
}

TEST_F(Privileged, ProbeLeavesNothingBehindAndPicksABackendConsistently) {
  std::string seen_ns;
  bool existed_during = false;
  probe::ProbeOptions o;
  o.on_scratch_ready = [&](const std::string& id, const std::string& ns) {
    seen_ns = ns;
    existed_during = named_netns_exists(ns) && fs::exists(state_root() + "/" + id);
  };
  auto caps = probe::probe_host(o);
  EXPECT_TRUE(caps.problems.empty()) << caps.problems.front();
  ASSERT_TRUE(is_valid_run_id(caps.run_id));
  EXPECT_EQ(seen_ns, netns_name(caps.run_id, "probe"));
  EXPECT_TRUE(existed_during) << "scratch namespace and its journal exist while checks run";
  EXPECT_FALSE(named_netns_exists(seen_ns));
  EXPECT_FALSE(fs::exists(state_root() + "/" + caps.run_id));
  EXPECT_FALSE(caps.kernel.empty());
  // Every supported kernel has XFRM netlink (docs/design.md, "Backends"); ESP decides the backend.
  EXPECT_TRUE(caps.xfrm_netlink.available) << caps.xfrm_netlink.detail;
  EXPECT_TRUE(caps.tun.available) << caps.tun.detail;
  EXPECT_TRUE(caps.nftables.available) << caps.nftables.detail;
  std::string reason;
  auto backend = probe::auto_backend(caps, &reason);
  EXPECT_EQ(backend, caps.esp.available ? "xfrm" : "libipsec") << reason;
  if (!caps.esp.available) {
    EXPECT_EQ(reason, probe::kLibipsecReason);
  }
}

}  // namespace
}  // namespace ist
