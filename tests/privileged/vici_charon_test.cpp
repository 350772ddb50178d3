// The vici client against a real strongSwan charon in a private network namespace with its
// own /run, its own socket and a minimal strongswan.conf. Each test starts its own daemon.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/child_process.hpp"
#include "common/event_loop.hpp"
#include "common/run_state.hpp"
#include "vici/commands.hpp"

namespace ist::vici {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kCharon = "/usr/lib/ipsec/charon";
constexpr int kConnCount = 5000;

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// A responder-side connection as the SUT would hold it for peer `i`.
Message peer_conn(int i) {
  const std::string name = "peer-" + std::to_string(i);
  const std::string addr = "198.19." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
  const std::string inner =
      "198.19." + std::to_string(128 + i / 250) + "." + std::to_string(i % 250 + 1) + "/32";
  Message m;
  auto& c = m.section(name);
  c.set("version", "2");
  c.list("local_addrs", {"198.18.0.1"});
  c.list("remote_addrs", {addr});
  c.list("proposals", {"aes128-sha256-x25519"});
  c.section("local").set("auth", "psk").set("id", "198.18.0.1");
  c.section("remote").set("auth", "psk").set("id", addr);
  auto& child = c.section("children").section("net");
  child.list("local_ts", {"198.18.255.0/24"});
  child.list("remote_ts", {inner});
  child.list("esp_proposals", {"aes128gcm16"});
  child.set("start_action", "none");
  return m;
}

class ViciCharon : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    ASSERT_TRUE(fs::exists(kCharon)) << kCharon << " is not installed";
    char tmpl[] = "/tmp/ist-vici-charon-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/run");
    socket_ = dir_ + "/charon.vici";
    netns_ = netns_name(new_run_id(), "vici");
    auto add = run_command({ip_program(), "netns", "add", netns_}, 10s);
    ASSERT_TRUE(add && add->status.exited && add->status.code == 0)
        << "ip netns add " << netns_ << ": " << (add ? add->output : add.error().describe());
    netns_created_ = true;
    auto lo = run_command({ip_program(), "link", "set", "lo", "up"}, 10s, netns_);
    ASSERT_TRUE(lo && lo->status.code == 0);

    std::ofstream conf(dir_ + "/strongswan.conf");
    conf << "charon {\n"
            "  load_modular = no\n"
            "  load = random nonce openssl kdf pem pkcs1 x509 pubkey kernel-libipsec "
            "kernel-netlink socket-default vici counters\n"
            "  threads = 16\n"
            "  install_routes = no\n"
            "  plugins {\n"
            "    vici { socket = unix://" << socket_ << " }\n"
            "  }\n"
            "  filelog {\n"
            "    log { path = " << dir_ << "/charon.log\n default = 1\n }\n"
            "  }\n"
            "}\n";
    conf.close();

    SpawnOptions opts;
    opts.argv = {kCharon};
    opts.extra_env = {"STRONGSWAN_CONF=" + dir_ + "/strongswan.conf"};
    opts.netns = netns_;
    opts.private_run_dir = dir_ + "/run";
    opts.stdout_path = dir_ + "/charon.stdout";
    auto child = ChildProcess::spawn(opts);
    ASSERT_TRUE(child) << child.error().describe();
    charon_.emplace(std::move(child).value());

    // Wait (bounded) until vici answers.
    const auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      ASSERT_TRUE(charon_->running()) << "charon exited: " << read_file(dir_ + "/charon.log")
                                      << read_file(dir_ + "/charon.stdout");
      auto s = Session::connect(loop_, socket_);
      if (s) {
        auto v = (*s)->call("version", Message{}, 5s);
        if (v) {
          session_ = std::move(s).value();
          break;
        }
      }
      std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(session_) << "vici did not answer within 15 s; log:\n"
                          << read_file(dir_ + "/charon.log");
  }

  void TearDown() override {
    session_.reset();
    if (charon_) {
      pid_t pid = charon_->pid();
      charon_->stop(5s);
      EXPECT_FALSE(charon_->running());
      EXPECT_TRUE(::kill(pid, 0) == -1 && errno == ESRCH) << "charon pid " << pid << " still there";
      charon_.reset();
    }
    if (netns_created_) {
      auto del = run_command({ip_program(), "netns", "del", netns_}, 10s);
      EXPECT_TRUE(del && del->status.code == 0) << (del ? del->output : del.error().describe());
      EXPECT_FALSE(fs::exists("/run/netns/" + netns_));
    }
    std::error_code ec;
    if (!dir_.empty()) {
      if (::testing::Test::HasFailure())
        std::cerr << "charon log kept in " << dir_ << "\n";
      else
        fs::remove_all(dir_, ec);
    }
  }

  EventLoop loop_;
  std::string dir_, socket_, netns_;
  bool netns_created_ = false;
  std::optional<ChildProcess> charon_;
  std::unique_ptr<Session> session_;
};

TEST_F(ViciCharon, VersionStatsAndCounters) {
  auto v = wait<VersionInfo>(*session_, [&](Done<VersionInfo> d) { version(*session_, d); });
  ASSERT_TRUE(v) << v.error().describe();
  EXPECT_EQ(v->daemon, "charon");
  EXPECT_EQ(v->version, "5.9.8");
  EXPECT_EQ(v->sysname, "Linux");

  auto st = wait<Stats>(*session_, [&](Done<Stats> d) { stats(*session_, d); });
  ASSERT_TRUE(st) << st.error().describe();
  EXPECT_EQ(st->workers_total, 16u);
  EXPECT_LE(st->workers_idle, st->workers_total);
  EXPECT_EQ(st->ikesas_total, 0u);
  EXPECT_FALSE(st->uptime_since.empty());
  EXPECT_NE(std::find(st->plugins.begin(), st->plugins.end(), "vici"), st->plugins.end());
  EXPECT_NE(std::find(st->plugins.begin(), st->plugins.end(), "kernel-libipsec"), st->plugins.end());

  auto c = wait<Counters>(*session_, [&](Done<Counters> d) { get_counters(*session_, "", d); });
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_TRUE(c->supported);  // the counters plugin is loaded here
  ASSERT_EQ(c->by_name.size(), 1u);
  EXPECT_EQ(c->by_name[0].first, "");  // global counters
  const auto& global = c->by_name[0].second;
  EXPECT_NE(std::find_if(global.begin(), global.end(),
                         [](const auto& kv) { return kv.first == "ike-init-in-req"; }),
            global.end());

  auto reload =
      wait<Outcome>(*session_, [&](Done<Outcome> d) { reload_settings(*session_, d); });
  ASSERT_TRUE(reload);
  EXPECT_TRUE(reload->success) << reload->errmsg;

  auto unknown = session_->call("no-such-command");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().errno_value, EOPNOTSUPP);
}

TEST_F(ViciCharon, LoadsFiveThousandConnsAndListsThem) {
  std::vector<Message> conns;
  conns.reserve(kConnCount);
  for (int i = 0; i < kConnCount; ++i) conns.push_back(peer_conn(i));
  const auto start = std::chrono::steady_clock::now();
  auto report = wait<LoadConnsReport>(
      *session_, [&](Done<LoadConnsReport> d) { load_conns(*session_, std::move(conns), d); }, 60s);
  const double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(report) << report.error().describe();
  EXPECT_EQ(report->loaded, static_cast<std::size_t>(kConnCount));
  EXPECT_TRUE(report->failed.empty()) << report->failed.front().first << ": "
                                      << report->failed.front().second;
  std::cout << "[ vici ] load-conn x" << kConnCount << ": " << load_ms << " ms ("
            << kConnCount * 1000.0 / load_ms << " conns/s)\n";
  RecordProperty("load_conn_5000_ms", std::to_string(static_cast<int>(load_ms)));
  EXPECT_LT(load_ms, 3000.0) << "goal: 5,000 load-conn in under 3 s";

  const auto list_start = std::chrono::steady_clock::now();
  auto listed = wait<std::vector<ConnInfo>>(
      *session_, [&](Done<std::vector<ConnInfo>> d) { list_conns(*session_, "", d, 60s); }, 60s);
  const double list_ms = std::chrono::duration<double, std::milli>(
                             std::chrono::steady_clock::now() - list_start)
                             .count();
  ASSERT_TRUE(listed) << listed.error().describe();
  std::cout << "[ vici ] list-conns of " << listed->size() << ": " << list_ms << " ms\n";
  ASSERT_EQ(listed->size(), static_cast<std::size_t>(kConnCount));
  EXPECT_EQ(listed->front().name, "peer-0");
  EXPECT_EQ(listed->back().name, "peer-4999");
  EXPECT_EQ(listed->back().remote_addrs.at(0), "198.19.19.250");
  EXPECT_EQ(listed->back().children, std::vector<std::string>{"net"});

  // One more check that the daemon kept them apart: unload one, 4,999 remain.
  auto unloaded =
      wait<Outcome>(*session_, [&](Done<Outcome> d) { unload_conn(*session_, "peer-17", d); });
  ASSERT_TRUE(unloaded && unloaded->success);
  auto again = session_->call_stream("list-conns", "list-conn", Message{}, 60s);
  ASSERT_TRUE(again) << again.error().describe();
  EXPECT_EQ(again->items.size(), static_cast<std::size_t>(kConnCount - 1));
}

TEST_F(ViciCharon, RefusalsAreDataAndSecretsLoad) {
  auto psk = wait<Outcome>(*session_, [&](Done<Outcome> d) {
    load_shared(*session_, {.data = "ikestorm-test-psk", .owners = {"198.18.0.1", "198.19.0.1"}}, d);
  });
  ASSERT_TRUE(psk) << psk.error().describe();
  EXPECT_TRUE(psk->success) << psk->errmsg;

  auto bad = peer_conn(0);
  bad.find_section("peer-0")->list("proposals", {"no-such-algorithm"});
  auto refused = wait<Outcome>(*session_, [&](Done<Outcome> d) { load_conn(*session_, bad, d); });
  ASSERT_TRUE(refused) << refused.error().describe();
  EXPECT_FALSE(refused->success);
  EXPECT_FALSE(refused->errmsg.empty());

  // Initiating a config that does not exist is refused at once (timeout = -1).
  auto init = wait<Outcome>(*session_, [&](Done<Outcome> d) {
    initiate(*session_, {.child = "nope", .ike = "nope"}, d);
  });
  ASSERT_TRUE(init) << init.error().describe();
  EXPECT_FALSE(init->success);
  EXPECT_NE(init->errmsg.find("not found"), std::string::npos) << init->errmsg;

  auto sas = wait<std::vector<IkeSaInfo>>(
      *session_, [&](Done<std::vector<IkeSaInfo>> d) { list_sas(*session_, {}, d); });
  ASSERT_TRUE(sas) << sas.error().describe();
  EXPECT_TRUE(sas->empty());

  Status confirmed = Error("not yet");
  bool got = false;
  on_log(*session_, [](Result<LogEvent>) {}, [&](Status s) {
    confirmed = s;
    got = true;
  });
  auto ran = loop_.run_until([&] { return got; }, loop_.clock().now() + 5s);
  ASSERT_TRUE(ran && *ran);
  EXPECT_TRUE(confirmed);
}

TEST_F(ViciCharon, DaemonGoingAwayClosesTheSessionCleanly) {
  std::optional<Error> closed;
  session_->on_close([&](const Error& e) { closed = e; });
  session_->subscribe("ike-updown", [](std::string_view, const Message&) {});
  ASSERT_TRUE(charon_->signal(SIGKILL));
  auto ran = loop_.run_until([&] { return closed.has_value(); }, loop_.clock().now() + 5s);
  ASSERT_TRUE(ran && *ran) << "no close after charon died";
  EXPECT_EQ(closed->errno_value, ECONNRESET) << closed->describe();
  EXPECT_FALSE(session_->is_open());
  auto after = session_->call("version", Message{}, 1s);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error().errno_value, ECONNRESET);
  // The socket file stays behind a killed charon: reconnecting says nobody listens. (Wait
  // for the exit first: our connection can close before the listening socket does.)
  ASSERT_TRUE(charon_->wait_for(5s));
  auto again = session_->reconnect();
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().describe().find("nothing listens"), std::string::npos)
      << again.error().describe();
}

}  // namespace
}  // namespace ist::vici
