#pragma once
// The gtest fixtures of the privileged tests that need the harness's two namespaces:
//  - TwoNamespaceTopology: a private state folder with a RunState journal and a SUT and a
//    peers namespace built by the netns library (the native packet layer's tests);
//  - TwoNamespaceFixture: the same with charon instances started in them (charon, charon auth
//    and native interop tests).
// Teardown checks that no pid, namespace or journal entry remains; the folder (with the
// daemons' logs) is kept after a failure or when IST_KEEP_TEST_DIR is set.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "charon/instance.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "netns/topology.hpp"

namespace ist::test {

class TwoNamespaceTopology : public ::testing::Test {
 protected:
  // `tag` names the test folder: /tmp/ist-<tag>-XXXXXX.
  explicit TwoNamespaceTopology(std::string tag) : tag_(std::move(tag)) {}

  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    std::string tmpl = "/tmp/ist-" + tag_ + "-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    // Keep this test's journal apart from real runs.
    ASSERT_EQ(::setenv("IKESTORM_STATE_DIR", (dir_ + "/state").c_str(), 1), 0);
    auto state = RunState::create(new_run_id());
    ASSERT_TRUE(state.ok()) << state.error().describe();
    state_.emplace(std::move(state).value());
    auto topo = netns::Topology::build(*state_, topology_spec());
    ASSERT_TRUE(topo.ok()) << topo.error().describe();
    topo_.emplace(std::move(topo).value());
  }

  void TearDown() override {
    if (!state_) return;
    release_before_teardown();
    std::vector<std::string> namespaces;
    if (topo_) {
      namespaces = {topo_->sut_ns().name(), topo_->peers_ns().name()};
      EXPECT_TRUE(topo_->teardown().ok());
    }
    for (const auto& ns : namespaces) EXPECT_FALSE(named_netns_exists(ns)) << ns;
    auto live = state_->live_resources();
    ASSERT_TRUE(live.ok());
    EXPECT_TRUE(live->empty()) << "journal still lists " << live->size() << " resources";
    EXPECT_TRUE(state_->remove().ok());
    ::unsetenv("IKESTORM_STATE_DIR");
    std::error_code ec;
    if (!::testing::Test::HasFailure() && !::getenv("IST_KEEP_TEST_DIR")) std::filesystem::remove_all(dir_, ec);
  }

  virtual std::size_t peer_count() const { return 1; }
  virtual netns::TopologySpec topology_spec() const {
    netns::TopologySpec spec;
    spec.peer_count = peer_count();
    return spec;
  }
  // Closes what lives in the namespaces (sockets, vici sessions, daemons) before teardown.
  virtual void release_before_teardown() {}

  std::string tag_;
  std::string dir_;
  std::optional<RunState> state_;
  std::optional<netns::Topology> topo_;
};

class TwoNamespaceFixture : public TwoNamespaceTopology {
 protected:
  explicit TwoNamespaceFixture(std::string tag) : TwoNamespaceTopology(std::move(tag)) {}

  // Closes what uses the instances (sockets, vici sessions) before they are stopped.
  virtual void release_instance_users() {}

  void release_before_teardown() override {
    release_instance_users();
    std::vector<pid_t> pids;
    for (auto& i : instances_) {
      pids.push_back(i.pid());
      i.stop();
    }
    instances_.clear();
    for (pid_t pid : pids) EXPECT_TRUE(::kill(pid, 0) == -1 && errno == ESRCH) << "charon pid " << pid << " still alive";
  }

  // Options for an instance in the SUT's or the peers' namespace, with its own work folder.
  charon::InstanceOptions instance_options(const std::string& name, charon::Role role,
                                           charon::Backend backend = charon::Backend::libipsec) {
    charon::InstanceOptions o;
    o.name = name;
    o.netns = role == charon::Role::sut ? topo_->sut_ns().name() : topo_->peers_ns().name();
    o.work_dir = dir_ + "/" + name;
    o.settings = charon::default_settings(role, backend);
    o.run_state = &*state_;
    return o;
  }

  // Starts an instance that teardown stops (a failed start fails the test and throws).
  charon::Instance& start(const charon::InstanceOptions& o) {
    auto inst = charon::Instance::start(o);
    EXPECT_TRUE(inst.ok()) << inst.error().describe();
    if (!inst.ok()) throw std::runtime_error("start failed");
    instances_.push_back(std::move(inst).value());
    return instances_.back();
  }

  bool journal_has_pid(pid_t pid) {
    auto live = state_->live_resources();
    if (!live.ok()) return false;
    for (const auto& r : *live)
      if (r.kind == resource_kind::process && r.name == std::to_string(pid)) return true;
    return false;
  }

  std::deque<charon::Instance> instances_;  // references stay valid as instances are added
};

}  // namespace ist::test
