// The logic of run_point()'s steps that needs no namespace: the kernel observer's samples in
// the report's timeseries, the one place each engine and SUT kind is chosen.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "run/point_steps.hpp"

namespace ist::run {
namespace {

TEST(RunSteps, KernelSamplesFillTheTimeseriesAndTheSutsDeltasAreTheReportsField) {
  xfrm::KernelSample sut;
  sut.role = "sut";
  sut.counts.sas = 4;
  sut.counts.policies.in = 1;
  sut.counts.policies.out = 2;
  sut.counts.policies.fwd = 3;
  sut.acquires = 5;
  sut.expires = 6;
  sut.xfrm_stat_delta = {{"XfrmInNoStates", 7}};
  xfrm::KernelSample peers;
  peers.role = "peers";
  peers.counts.sas = 8;
  peers.xfrm_stat_delta = {{"XfrmOutNoStates", 9}};
  reports::TimeseriesPoint pt;
  put_kernel_samples({sut, peers}, pt);
  ASSERT_EQ(pt.xfrm.size(), 2u);
  const auto& s = pt.xfrm.at("sut");
  EXPECT_EQ(s.sas, 4u);
  EXPECT_EQ(s.policies_in, 1u);
  EXPECT_EQ(s.policies_out, 2u);
  EXPECT_EQ(s.policies_fwd, 3u);
  EXPECT_EQ(s.acquires, 5u);
  EXPECT_EQ(s.expires, 6u);
  EXPECT_EQ(s.xfrm_stat.at("XfrmInNoStates"), 7);
  EXPECT_EQ(pt.xfrm.at("peers").sas, 8u);
  // Only the SUT's deltas are the report contract's xfrm_stat.
  EXPECT_EQ(pt.xfrm_stat, (std::map<std::string, int64_t>{{"XfrmInNoStates", 7}}));
}

TEST(RunSteps, NoSampleLeavesThePointWithoutKernelFields) {
  reports::TimeseriesPoint pt;
  put_kernel_samples({}, pt);
  EXPECT_TRUE(pt.xfrm.empty());
  EXPECT_TRUE(pt.xfrm_stat.empty());
}

TEST(RunSteps, EachEngineIsChosenByPeersEngine) {
  EXPECT_EQ(&engine_kind_for(scenario::Engine::native), &native_engine());
  EXPECT_EQ(&engine_kind_for(scenario::Engine::charon), &charon_fleet_engine());
}

// What the native engine cannot do (non-PSK auth, sut.config) the scenario validator
// refuses with exit 2 before anything starts (tests/e2e/test_validate_vs_run.py).

TEST(RunSteps, TheVmKindRunsKernelNetlinkAndSaysLinkLossIsNotApplied) {
  scenario::Scenario s;
  s.link.loss = 0.01;
  auto vm = sut_part_for(scenario::Scenario{}, "vm");
  EXPECT_EQ(vm->charon_backend("vm"), "xfrm");
  std::vector<std::string> notes;
  vm->note_limits(s, notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("backend vm: link.loss is not applied"), std::string::npos);
  auto netns = sut_part_for(scenario::Scenario{}, "libipsec");
  EXPECT_EQ(netns->charon_backend("libipsec"), "libipsec");
  EXPECT_EQ(sut_part_for(scenario::Scenario{}, "xfrm")->charon_backend("xfrm"), "xfrm");
  notes.clear();
  netns->note_limits(s, notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(netns->sut(), nullptr);  // not started
}

// A target: the peers' credentials replace the harness's own; nothing of a local SUT remains.
TEST(RunSteps, TheTargetKindIsChosenByTheScenarioAndGivesThePeersTheGatewaysCredentials) {
  const auto dir = std::filesystem::temp_directory_path() / ("ist-run-steps-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "gw.psk") << "0x6777\n";  // "gw", as swanctl.conf writes hex
  scenario::SweepPoint point;
  scenario::Scenario& s = point.scenario;
  s.peers.count = 3;
  s.target = scenario::Target{.address = "198.18.100.1", .interface = "eth1", .local = "198.18.100.50/24",
                              .peers = "198.19.0.0/17"};
  s.peers.credentials.psk_file = dir / "gw.psk";
  s.peers.credentials.id = "peer-{i}@example.org";
  PointContext ctx;
  ctx.out_dir = dir.string();
  ctx.point_dir = "run-1";
  ctx.psk = "harness-random";
  PointRun run(point, ctx);
  auto kind = sut_part_for(s, "libipsec");  // the target wins over the backend
  SutPlan plan;
  plan.peer_psk = ctx.psk;
  plan.responder.local_id = "sut.ikestorm.test";
  ASSERT_TRUE(kind->adjust_plan(run, plan));
  EXPECT_EQ(plan.peer_psk, "gw");
  EXPECT_EQ(plan.secret.secret, "gw");
  EXPECT_EQ(plan.peer_id_pattern, "peer-{i}@example.org");
  EXPECT_EQ(plan.responder.local_id, "");  // no remote_id: accept what the gateway proves
  EXPECT_EQ(plan.responder_options.local_ts, (std::vector<std::string>{"198.18.100.1/32"}));
  EXPECT_EQ(plan.responder_options.local_addr, "198.18.100.1");
  EXPECT_EQ(kind->sut(), nullptr);  // not started
  fleet::DataPlaneSessionOptions o;
  EXPECT_FALSE(kind->place_data_sink(o, netns::Topology{}));

  s.peers.credentials.remote_id = "gw.example.org";
  s.peers.credentials.remote_ts = {"198.18.200.0/24"};
  std::ofstream(dir / "gw.psk", std::ios::trunc) << "0x67z7\n";
  SutPlan again;
  auto bad = kind->adjust_plan(run, again);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().describe().find("peers.psk_file: " + (dir / "gw.psk").string()), std::string::npos);
  std::ofstream(dir / "gw.psk", std::ios::trunc) << "0sZ3c=";
  ASSERT_TRUE(kind->adjust_plan(run, again));
  EXPECT_EQ(again.peer_psk, "gw");
  EXPECT_EQ(again.responder.local_id, "gw.example.org");
  EXPECT_EQ(again.responder_options.local_ts, (std::vector<std::string>{"198.18.200.0/24"}));
  std::filesystem::remove_all(dir);
}

TEST(RunSteps, PeerIdentityPatternsReplaceEveryIndexMark) {
  EXPECT_EQ(charon::peer_id_from_pattern("peer-{i}@example.org", 0), "peer-0@example.org");
  EXPECT_EQ(charon::peer_id_from_pattern("{i}.{i}.gw", 12), "12.12.gw");
  EXPECT_EQ(charon::peer_id_from_pattern("fixed", 3), "fixed");
}

}  // namespace
}  // namespace ist::run
