// The logic of run_point()'s steps that needs no namespace: the kernel observer's samples in
// the report's timeseries, the one place each engine and SUT kind is chosen.
#include <gtest/gtest.h>

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
  auto vm = sut_part_for("vm");
  EXPECT_EQ(vm->charon_backend("vm"), "xfrm");
  std::vector<std::string> notes;
  vm->note_limits(s, notes);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("backend vm: link.loss is not applied"), std::string::npos);
  auto netns = sut_part_for("libipsec");
  EXPECT_EQ(netns->charon_backend("libipsec"), "libipsec");
  EXPECT_EQ(sut_part_for("xfrm")->charon_backend("xfrm"), "xfrm");
  notes.clear();
  netns->note_limits(s, notes);
  EXPECT_TRUE(notes.empty());
  EXPECT_EQ(netns->sut(), nullptr);  // not started
}

}  // namespace
}  // namespace ist::run
