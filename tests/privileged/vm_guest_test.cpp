// ist::vm::Guest against a real qemu guest (TCG here) in a private namespace: the stock
// kernel answers over the control channel, holds real ESP states, and leaves nothing behind.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include "common/child_process.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "netns/namespace.hpp"
#include "vm/guest.hpp"

namespace ist::vm {
namespace {

namespace fs = std::filesystem;

// Booting costs seconds under TCG, and ctest runs each test in a process of its own: the
// smoke test (the default run) boots its own guest; the other tests (label long) share one,
// booted on first use.
class VmGuestTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    auto st = RunState::create(new_run_id());
    ASSERT_TRUE(st.ok()) << st.error().describe();
    state_ = new RunState(std::move(*st));
    auto ns = netns::Namespace::create(*state_, "vm");
    ASSERT_TRUE(ns.ok()) << ns.error().describe();
    ns_ = new netns::Namespace(std::move(*ns));
  }

  static void TearDownTestSuite() {
    delete guest_;  // shuts down if a test did not
    guest_ = nullptr;
    if (ns_) {
      EXPECT_TRUE(ns_->destroy().ok());
    }
    delete ns_;
    ns_ = nullptr;
    if (state_) {
      auto live = state_->live_resources();
      EXPECT_TRUE(live.ok());
      if (live.ok()) {
        for (const auto& r : *live) ADD_FAILURE() << "left behind: " << r.kind << " " << r.name;
      }
      EXPECT_TRUE(state_->remove().ok());
    }
    delete state_;
    state_ = nullptr;
  }

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_NE(ns_, nullptr);
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (test.rfind("Smoke", 0) != 0 && !guest_) {
      auto g = boot_guest("vm");
      ASSERT_TRUE(g.ok()) << g.error().describe();
      guest_ = std::move(*g).release();
    }
  }

  // A guest on tap ist<runid><tag>: 198.18.0.1/30 on eth0, 198.18.255.1/24 on lo, a route.
  static Result<std::unique_ptr<Guest>> boot_guest(const std::string& tag) {
    const std::string run_dir = state_->dir() + "/" + tag;
    fs::create_directories(run_dir);
    GuestOptions o;
    o.run_dir = run_dir;
    o.cache_dir = state_->dir() + "/cache";  // a fresh initramfs and kernel unpack, every time
    o.network.netns = ns_;
    o.network.tap = link_name(state_->run_id(), tag);
    o.network.addresses = {"198.18.0.1/30"};
    o.network.lo_addresses = {"198.18.255.1/24"};
    o.network.routes = {"198.19.0.0/16 via 198.18.0.2"};
    o.memory_mb = 512;
    auto g = Guest::boot(o, *state_);
    if (g.ok()) {
      const auto& t = (*g)->timings();
      std::cerr << "booted in " << t.total_s << " s (initramfs+kernel " << t.initramfs_s << " s, qemu to agent "
                << t.boot_s << " s, network " << t.network_s << " s, " << accel_name((*g)->accel()) << ")\n";
    }
    return g;
  }

  static Guest& guest() { return *guest_; }

  static inline RunState* state_ = nullptr;
  static inline netns::Namespace* ns_ = nullptr;
  static inline Guest* guest_ = nullptr;
};

// The default run's test: the stock kernel answers, holds real ESP states, and a shutdown
// leaves no qemu, tap or journal entry.
TEST_F(VmGuestTest, SmokeStockKernelRealEspCleanShutdown) {
  auto g = boot_guest("vs");
  ASSERT_TRUE(g.ok()) << g.error().describe();
  Guest& vm = **g;
  auto expected = kernel_release_of(default_kernel());
  ASSERT_TRUE(expected.ok()) << expected.error().describe();
  EXPECT_EQ(vm.kernel_release(), *expected);
  auto uname = vm.run({"/bin/uname", "-r"});
  ASSERT_TRUE(uname.ok()) << uname.error().describe();
  EXPECT_EQ(*uname, *expected + "\n");
  auto add = vm.exec({"/sbin/ip", "xfrm", "state", "add", "src", "198.18.0.1", "dst", "198.18.0.2", "proto", "esp",
                      "spi", "0x1003", "mode", "tunnel", "aead", "rfc4106(gcm(aes))",
                      "0x00112233445566778899aabbccddeeff01020304", "128"});
  ASSERT_TRUE(add.ok()) << add.error().describe();
  EXPECT_TRUE(add->ok()) << add->describe();

  const pid_t qemu = vm.qemu_pid();
  ASSERT_GT(qemu, 0);
  EXPECT_TRUE(vm.alive());
  ASSERT_TRUE(vm.shutdown().ok());
  EXPECT_FALSE(vm.alive());
  EXPECT_FALSE(process_start_ticks(qemu).has_value()) << "qemu still running";
  EXPECT_GT(vm.usage().cpu_s, 0.0);
  auto links = run_command({"/sbin/ip", "-o", "link"}, std::chrono::seconds(10), ns_->name());
  ASSERT_TRUE(links.ok());
  EXPECT_EQ(links->output.find(link_name(state_->run_id(), "vs")), std::string::npos) << links->output;
  auto live = state_->live_resources();
  ASSERT_TRUE(live.ok());
  for (const auto& r : *live) EXPECT_NE(r.kind, "process") << r.name;
  EXPECT_FALSE(vm.exec({"/bin/true"}).ok());
}

TEST_F(VmGuestTest, RunsTheStockKernel) {
  auto expected = kernel_release_of(default_kernel());
  ASSERT_TRUE(expected.ok()) << expected.error().describe();
  EXPECT_EQ(guest().kernel_release(), *expected);
  auto uname = guest().run({"/bin/uname", "-r"});
  ASSERT_TRUE(uname.ok()) << uname.error().describe();
  EXPECT_EQ(*uname, *expected + "\n");
  // Not the host's kernel: the point of the vm backend.
  auto host = run_command({"/bin/uname", "-r"});
  ASSERT_TRUE(host.ok());
  EXPECT_NE(host->output, *uname);
}

TEST_F(VmGuestTest, HoldsRealEspStates) {
  auto add = guest().exec({"/sbin/ip", "xfrm", "state", "add", "src", "198.18.0.1", "dst", "198.18.0.2", "proto",
                           "esp", "spi", "0x1001", "mode", "tunnel", "enc", "cbc(aes)",
                           "0x00112233445566778899aabbccddeeff", "auth-trunc", "hmac(sha256)",
                           "0x00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", "128"});
  ASSERT_TRUE(add.ok()) << add.error().describe();
  EXPECT_TRUE(add->ok()) << add->describe();
  auto aead = guest().exec({"/sbin/ip", "xfrm", "state", "add", "src", "198.18.0.2", "dst", "198.18.0.1", "proto",
                            "esp", "spi", "0x1002", "mode", "tunnel", "aead", "rfc4106(gcm(aes))",
                            "0x00112233445566778899aabbccddeeff01020304", "128"});
  ASSERT_TRUE(aead.ok()) << aead.error().describe();
  EXPECT_TRUE(aead->ok()) << aead->describe();
  auto count = guest().run({"/sbin/ip", "xfrm", "state", "count"});
  ASSERT_TRUE(count.ok()) << count.error().describe();
  EXPECT_NE(count->find("count 2"), std::string::npos) << *count;
  EXPECT_TRUE(guest().run({"/sbin/ip", "xfrm", "state", "flush"}).ok());
}

TEST_F(VmGuestTest, ExecReportsStatusOutputAndLimits) {
  struct Case {
    const char* name;
    std::vector<std::string> argv;
    std::chrono::milliseconds timeout;
    std::size_t max_output;
    bool exited, timed_out, truncated;
    int code;
    std::string out, err;
  };
  const std::vector<Case> cases = {
      {"exit 0 with stdout", {"/bin/sh", "-c", "echo hello"}, std::chrono::seconds(10), 1024, true, false, false, 0, "hello\n", ""},
      {"exit 3 with stderr", {"/bin/sh", "-c", "echo oops >&2; exit 3"}, std::chrono::seconds(10), 1024, true, false, false, 3, "", "oops\n"},
      {"killed by a signal", {"/bin/sh", "-c", "kill -9 $$"}, std::chrono::seconds(10), 1024, false, false, false, 0, "", ""},
      {"output bounded", {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x"}, std::chrono::seconds(10), 10, true, false, true, 0, "xxxxxxxxxx", ""},
      {"killed at the timeout", {"/bin/sleep", "30"}, std::chrono::milliseconds(300), 1024, false, true, false, 0, "", ""},
      {"missing program", {"/nonexistent/prog"}, std::chrono::seconds(10), 1024, true, false, false, 127, "", "exec /nonexistent/prog: No such file or directory\n"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = guest().exec(c.argv, c.timeout, c.max_output);
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->timed_out, c.timed_out);
    if (!c.timed_out) {
      EXPECT_EQ(r->status.exited, c.exited) << r->describe();
      if (c.exited) {
        EXPECT_EQ(r->status.code, c.code);
      } else {
        EXPECT_EQ(r->status.signal, SIGKILL);
      }
    } else {
      EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    }
    EXPECT_EQ(r->truncated, c.truncated);
    EXPECT_EQ(r->out, c.out);
    EXPECT_EQ(r->err, c.err);
  }
}

TEST_F(VmGuestTest, BackgroundProcessIsSpawnedPolledAndSignalled) {
  auto id = guest().spawn({{"/bin/sh", "-c", "echo started; exec sleep 600"}, {"X=1"}, "/run/bg.out", "/tmp"});
  ASSERT_TRUE(id.ok()) << id.error().describe();
  auto st = guest().poll(*id);
  ASSERT_TRUE(st.ok()) << st.error().describe();
  EXPECT_TRUE(st->running);
  EXPECT_GT(st->guest_pid, 1);
  // The shell's echo lands in the guest's log file (in the guest's /run, not on the host).
  Result<std::string> out = Error("not read");
  for (int i = 0; i < 100; ++i) {
    out = guest().read_file("/run/bg.out");
    if (out.ok() && !out->empty()) break;
    ::usleep(50 * 1000);
  }
  ASSERT_TRUE(out.ok()) << out.error().describe();
  EXPECT_EQ(*out, "started\n");
  ASSERT_TRUE(guest().signal(*id, SIGTERM).ok());
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    st = guest().poll(*id);
    ASSERT_TRUE(st.ok()) << st.error().describe();
    ended = !st->running;
    if (!ended) ::usleep(50 * 1000);
  }
  ASSERT_TRUE(ended);
  EXPECT_FALSE(st->status.exited);
  EXPECT_EQ(st->status.signal, SIGTERM);
  EXPECT_FALSE(guest().signal(*id, SIGTERM).ok());  // ended: refused, not sent to a reused pid
  EXPECT_FALSE(guest().poll(9999).ok());
}

TEST_F(VmGuestTest, FilesRoundTripAndTheHostRootIsReadOnlyBelow) {
  const std::string content = std::string("line 1\n") + std::string(200000, 'z') + '\0' + "tail";
  ASSERT_TRUE(guest().write_file("/run/ist-test/a/b.conf", content, 0600).ok());
  auto back = guest().read_file("/run/ist-test/a/b.conf");
  ASSERT_TRUE(back.ok()) << back.error().describe();
  EXPECT_EQ(*back, content);
  EXPECT_FALSE(guest().read_file("/run/ist-test/a/b.conf", 10).ok());  // bigger than asked for
  EXPECT_FALSE(guest().read_file("/nonexistent").ok());
  // The host's files are there; writes land in the guest's overlay, never on the host.
  auto os = guest().read_file("/etc/os-release");
  ASSERT_TRUE(os.ok()) << os.error().describe();
  EXPECT_NE(os->find("Debian"), std::string::npos);
  const std::string marker = "/etc/ist-vm-test-" + state_->run_id();
  ASSERT_TRUE(guest().write_file(marker, "guest only").ok());
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(VmGuestTest, GuestIsReachableThroughTheTapInItsNamespace) {
  auto addr = run_command({"/sbin/ip", "addr", "add", "198.18.0.2/30", "dev", link_name(state_->run_id(), "vm")},
                          std::chrono::seconds(10), ns_->name());
  ASSERT_TRUE(addr.ok() && addr->status.code == 0) << (addr.ok() ? addr->output : addr.error().describe());
  // The lo address and the route were applied too.
  auto route = guest().run({"/sbin/ip", "route", "get", "198.19.0.7"});
  ASSERT_TRUE(route.ok()) << route.error().describe();
  EXPECT_NE(route->find("via 198.18.0.2"), std::string::npos) << *route;
  // connect_tcp reaches a listener in the guest.
  auto listener = guest().spawn({{"/bin/busybox", "nc", "-l", "-p", "4502", "-e", "/bin/echo", "hi"}, {}, "", ""});
  ASSERT_TRUE(listener.ok()) << listener.error().describe();
  Result<unique_fd> conn = Error("not tried");
  for (int i = 0; i < 50; ++i) {
    conn = guest().connect_tcp("198.18.0.1", 4502, std::chrono::seconds(2));
    if (conn.ok()) break;
    ::usleep(100 * 1000);
  }
  ASSERT_TRUE(conn.ok()) << conn.error().describe();
  char buf[16] = {};
  EXPECT_EQ(::read(conn->get(), buf, sizeof buf), 3);
  EXPECT_STREQ(buf, "hi\n");
}

}  // namespace
}  // namespace ist::vm
