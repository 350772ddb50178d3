// A point's verdict beyond its codes: the SUT's fate, the harness's own faults, and real
// kernel XFRM only from evidence (this kernel has no ESP, so the count is faked here).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "run/point_verdict.hpp"

namespace ist {
namespace {

using run::OrchestratorResult;

reports::TimeseriesPoint with_sut_sas(uint64_t sas) {
  reports::TimeseriesPoint pt;
  pt.xfrm["sut"].sas = sas;
  pt.xfrm["peers"].sas = 99;  // the peers' kernel says nothing about the SUT's
  return pt;
}

TEST(RealXfrm, OnlyFromTheSutKernelsOwnCount) {
  EXPECT_FALSE(run::kernel_held_sas(0, {}));
  EXPECT_FALSE(run::kernel_held_sas(0, {with_sut_sas(0), with_sut_sas(0)}));
  EXPECT_TRUE(run::kernel_held_sas(0, {with_sut_sas(0), with_sut_sas(4)}));
  EXPECT_TRUE(run::kernel_held_sas(20, {}));
  reports::TimeseriesPoint peers_only;
  peers_only.xfrm["peers"].sas = 40;
  EXPECT_FALSE(run::kernel_held_sas(0, {peers_only}));
}

struct LogFile {
  std::filesystem::path path;
  explicit LogFile(const std::string& text) {
    path = std::filesystem::temp_directory_path() / ("ist-verdict-" + std::to_string(::getpid()) + ".log");
    std::ofstream(path) << text;
  }
  ~LogFile() { std::filesystem::remove(path); }
};

TEST(SutDeath, TheReportSaysWhenHowAndWhatTheLogEndedWith) {
  std::string text;
  for (int i = 0; i < 30; ++i) text += "Dec  7 02:00:0" + std::to_string(i % 10) + " 05[IKE] <p" + std::to_string(i) + "|1> line " + std::to_string(i) + "\n";
  text += "Dec  7 02:00:31 09[DMN] thread 9 received 11\n"
          "Dec  7 02:00:31 09[LIB]  dumping 3 stack frame addresses:\n"
          "Dec  7 02:00:31 09[LIB]   /usr/lib/ipsec/libstrongswan.so.0 @ 0x7f00 [0x7f10]\n"
          "Dec  7 02:00:31 09[LIB]   /usr/lib/ipsec/libcharon.so.0 @ 0x7e00 [0x7e10]\n"
          "Dec  7 02:00:31 09[DMN] killing ourself, received critical signal\n";
  LogFile log(text);
  OrchestratorResult r;
  r.sut_died_at_s = 8.25;
  r.sut_death = "SUT charon (pid 7) killed by SIGSEGV";
  fleet::PeerTracker tr(2);
  tr.observe({fleet::PeerObservation::Kind::initiate_sent, 0, MonoTime{}, ""});
  tr.observe({fleet::PeerObservation::Kind::ike_up, 0, MonoTime{}, ""});
  tr.observe({fleet::PeerObservation::Kind::lost, 0, MonoTime{}, "the SUT died"});
  reports::RunReport rep;
  run::apply_verdict(r, tr, log.path.string(), rep);
  EXPECT_EQ(rep.outcome, "sut-died");
  EXPECT_EQ(rep.summary.sut_survived, 0u);
  EXPECT_EQ(rep.summary.lost, 1u);
  ASSERT_TRUE(rep.sut_death.has_value());
  EXPECT_EQ(rep.sut_death->t_ms, 8250);
  EXPECT_EQ(rep.sut_death->how, r.sut_death);
  ASSERT_EQ(rep.sut_death->log_tail.size(), 20u);
  EXPECT_NE(rep.sut_death->log_tail.back().find("critical signal"), std::string::npos);
  ASSERT_EQ(rep.sut_death->backtrace.size(), 5u);
  EXPECT_NE(rep.sut_death->backtrace[0].find("received 11"), std::string::npos);
  EXPECT_NE(rep.sut_death->backtrace[3].find("libcharon"), std::string::npos);
}

TEST(SutDeath, SilenceThenDeathIsADeathAndAPeerDaemonIsTheHarnesss) {
  OrchestratorResult r;
  r.sut_unresponsive_s = {{3.0, 9.5}};
  fleet::PeerTracker tr(1);
  reports::RunReport rep;
  run::apply_verdict(r, tr, "", rep);
  EXPECT_EQ(rep.outcome, "sut-unresponsive");
  ASSERT_EQ(rep.sut_unresponsive.size(), 1u);
  EXPECT_EQ(rep.sut_unresponsive[0].from_ms, 3000);
  EXPECT_EQ(rep.sut_unresponsive[0].to_ms, 9500);
  EXPECT_EQ(rep.summary.sut_survived, 0u);

  r.sut_died_at_s = 9.5;
  r.sut_death = "exited with status 1";
  reports::RunReport died;
  run::apply_verdict(r, tr, "", died);
  EXPECT_EQ(died.outcome, "sut-died");

  OrchestratorResult daemon;
  daemon.fault = "peer daemon died: charon pid 1 exited";
  reports::RunReport harness;
  run::apply_verdict(daemon, tr, "", harness);
  EXPECT_EQ(harness.outcome, "harness-fault");
  EXPECT_EQ(harness.summary.sut_survived, 1u);
  EXPECT_FALSE(harness.sut_death.has_value());
}

TEST(HarnessFaults, AnyMakesTheOutcomeAHarnessFault) {
  OrchestratorResult r;
  fleet::PeerTracker tr(1);
  reports::RunReport rep;
  rep.summary.harness_faults = 2;  // as classify_point sets it
  run::apply_verdict(r, tr, "", rep);
  EXPECT_EQ(rep.outcome, "harness-fault");
}

}  // namespace
}  // namespace ist
