// The orchestrator's phase logic against a fake engine and a fake SUT on a real EventLoop.
#include <gtest/gtest.h>

#include <set>

#include "common/signals.hpp"
#include "run/orchestrator.hpp"

using namespace ist;
using namespace ist::run;
using namespace std::chrono_literals;
using K = fleet::PeerObservation::Kind;

namespace {

// Peers whose index is in `refuse` never get an answer; the others come up after 5 ms.
// terminate() brings a peer down after 2 ms. Rekeys every `rekey_every` while up.
class FakeEngine : public fleet::PeerEngine {
 public:
  FakeEngine(EventLoop& loop, uint32_t n) : loop_(loop), n_(n) {}
  std::string engine_name() const override { return "fake"; }
  uint32_t peer_count() const override { return n_; }
  std::string peer_name(uint32_t p) const override { return "p" + std::to_string(p); }
  std::string peer_address(uint32_t p) const override { return "198.19.0." + std::to_string(p + 1); }
  void set_sink(Sink s) override { sink_ = std::move(s); }
  void initiate(uint32_t p) override {
    ++initiates;
    if (refuse.count(p)) {
      loop_.after(20ms, [this, p] { emit(K::attempt_failed, p, "giving up after 2 retransmits"); });
      return;
    }
    loop_.after(5ms, [this, p] {
      emit(K::ike_up, p);
      emit(K::child_up, p);
      if (rekey_every.count() > 0) schedule_rekey(p);
    });
  }
  void terminate(uint32_t p) override {
    ++terminates;
    loop_.after(2ms, [this, p] {
      up_.erase(p);
      emit(K::ike_down, p);
    });
  }
  std::chrono::milliseconds attempt_timeout() const override { return 2s; }
  bool healthy(std::string* why) override {
    if (dead) *why = "charon pid 1 exited";
    return !dead;
  }
  ProcessUsage usage() override { return {1.5, 10}; }
  Status stop() override { return ok(); }

  std::set<uint32_t> refuse;
  std::chrono::milliseconds rekey_every{0};
  int initiates = 0, terminates = 0;
  bool dead = false;

 private:
  void schedule_rekey(uint32_t p) {
    up_.insert(p);
    loop_.after(rekey_every, [this, p] {
      if (!up_.count(p)) return;
      emit(K::child_rekeyed, p);
      schedule_rekey(p);
    });
  }
  void emit(K k, uint32_t p, std::string d = "") { sink_({k, p, loop_.clock().now(), std::move(d)}); }
  EventLoop& loop_;
  uint32_t n_;
  Sink sink_;
  std::set<uint32_t> up_;
};

class FakeSut : public Sut {
 public:
  explicit FakeSut(uint64_t n) : n_(n) {}
  // With a loop and a delay, the count answers that much later (a saturated SUT).
  EventLoop* loop = nullptr;
  std::chrono::milliseconds answer_after{0};
  void count_established(std::function<void(Result<uint64_t>)> done) override {
    if (!loop) return done(n_);
    loop->after(answer_after, [this, done] { done(n_); });
  }
  void sample_stats(std::function<void(Result<reports::SutSample>)> done) override {
    if (silent) return done(Error("timed out"));
    done(reports::SutSample{n_, 0, 3, 7});
  }
  bool healthy(std::string* why) override {
    if (dead && why) *why = "SUT charon (pid 2) killed by SIGKILL";
    return !dead;
  }
  ProcessUsage usage() override {
    if (busy) cpu += 0.5;
    return {cpu, 20};
  }
  Status stop() override { return ok(); }
  bool dead = false;       // the process is gone
  bool silent = false;     // it answers no vici request (stats)
  bool busy = false;       // it spends CPU meanwhile (a saturated SUT)
  double cpu = 2.5;

 private:
  uint64_t n_;
};

Phase hold_for(std::chrono::milliseconds d) {
  Phase p;
  p.kind = Phase::Kind::hold;
  p.duration = d;
  return p;
}

Phase connect_at(double rate) {
  Phase p;
  p.kind = Phase::Kind::connect;
  p.arrival = fleet::Arrival::at_rate(rate);
  return p;
}

}  // namespace

class OrchestratorTest : public ::testing::Test {
 protected:
  void SetUp() override { signals::reset_for_tests(); }
  EventLoop loop;
};

TEST_F(OrchestratorTest, ConnectCountsEstablishedAndFailed) {
  FakeEngine engine(loop, 20);
  engine.refuse = {3, 7};
  FakeSut sut(18);
  OrchestratorPlan plan;
  plan.phases = {connect_at(1000), Phase{Phase::Kind::teardown}};
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_TRUE(r.fault.empty()) << r.fault;
  EXPECT_FALSE(r.interrupted);
  EXPECT_EQ(r.established_at_connect_end, 18u);
  EXPECT_EQ(r.failed_at_connect_end, 2u);
  EXPECT_EQ(r.sut_established_at_connect_end, 18u);
  EXPECT_EQ(r.connect_latencies_ms.size(), 18u);
  for (double l : r.connect_latencies_ms) EXPECT_GE(l, 4.0);
  EXPECT_EQ(engine.initiates, 20);
  EXPECT_EQ(engine.terminates, 18);  // only the established are torn down
  EXPECT_EQ(o.tracker().ike_active(), 0u);
  ASSERT_EQ(r.phases.size(), 2u);
  EXPECT_EQ(r.phases[0].phase, "connect");
  // 20 peers at 1000/s: the last initiate ~19 ms after the first.
  EXPECT_GE(r.connect_last_established_s - r.connect_first_initiate_s, 0.019);
  EXPECT_EQ(r.timelines.take(3).back().event, "failed");
  EXPECT_EQ(r.peers_usage.cpu_s, 1.5);
  EXPECT_EQ(r.sut_usage.rss_peak_mb, 20);
}

TEST_F(OrchestratorTest, ASutCountAnsweredTooLateIsReportedMissingAndIgnored) {
  FakeEngine engine(loop, 5);
  FakeSut sut(5);
  sut.loop = &loop;
  sut.answer_after = 300ms;  // arrives during the hold below, after the wait gave up
  OrchestratorPlan plan;
  plan.sut_count_timeout = 100ms;
  plan.phases = {connect_at(1000), hold_for(500ms), Phase{Phase::Kind::teardown}};
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_TRUE(r.fault.empty()) << r.fault;
  EXPECT_EQ(r.established_at_connect_end, 5u);
  EXPECT_FALSE(r.sut_established_at_connect_end.has_value());
  EXPECT_EQ(r.sut_count_problem, "the SUT did not answer list-sas within 100 ms at the end of connect");
}

TEST_F(OrchestratorTest, HoldCountsRekeysOnlyInsideTheWindow) {
  FakeEngine engine(loop, 5);
  engine.rekey_every = 100ms;
  FakeSut sut(5);
  OrchestratorPlan plan;
  plan.phases = {connect_at(1000), hold_for(1s), Phase{Phase::Kind::teardown}};
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_NEAR(r.hold_wall_s, 1.0, 0.1);
  // 5 peers x ~10 rekeys in one second.
  EXPECT_GE(r.hold_child_rekeys, 40u);
  EXPECT_LE(r.hold_child_rekeys, 55u);
  ASSERT_GE(r.timeseries.size(), 1u);
  // Each second also carries the SUT's own counters.
  ASSERT_TRUE(r.timeseries.front().sut.has_value());
  EXPECT_EQ(r.timeseries.front().sut->ike_sas, 5u);
  EXPECT_EQ(r.timeseries.front().sut->jobs_queued, 3u);
}

TEST_F(OrchestratorTest, StormReconnectsAShare) {
  FakeEngine engine(loop, 10);
  FakeSut sut(10);
  OrchestratorPlan plan;
  Phase storm;
  storm.kind = Phase::Kind::storm;
  storm.share = 0.5;
  storm.within = 50ms;
  plan.phases = {connect_at(1000), storm};
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_EQ(engine.initiates, 15);
  EXPECT_EQ(o.tracker().ever_established(), 15u);
  EXPECT_EQ(r.established_at_connect_end, 10u);
}

TEST_F(OrchestratorTest, ChurnTerminatesAndReconnects) {
  FakeEngine engine(loop, 10);
  FakeSut sut(10);
  OrchestratorPlan plan;
  Phase churn;
  churn.kind = Phase::Kind::churn;
  churn.rate_per_s = 20;
  churn.duration = 500ms;
  plan.phases = {connect_at(1000), churn};
  Orchestrator o(loop, engine, sut, plan);
  o.execute();
  // Guaranteed whatever the load: the first churn step runs at once, its peer comes back,
  // and teardown takes all 10 down (a reconnect due after teardown began stays down). On a
  // quiet box it is ~10 churns in the 500 ms; a loaded one fires fewer.
  EXPECT_GE(engine.terminates, 10 + 1);
  EXPECT_GE(engine.initiates, 10 + 1);
  EXPECT_EQ(o.tracker().ike_active(), 0u);
}

TEST_F(OrchestratorTest, StopRequestEndsEarlyButStillTearsDown) {
  FakeEngine engine(loop, 100);
  FakeSut sut(0);
  OrchestratorPlan plan;
  plan.phases = {connect_at(100)};  // 1 s of arrivals
  loop.after(200ms, [] { signals::request_stop(SIGINT); });
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_TRUE(r.interrupted);
  EXPECT_LT(engine.initiates, 100);
  EXPECT_GT(engine.initiates, 0);
  EXPECT_EQ(o.tracker().ike_active(), 0u);
  ASSERT_FALSE(r.phases.empty());
  EXPECT_EQ(r.phases.back().phase, "teardown");
  signals::reset_for_tests();
}

TEST_F(OrchestratorTest, DeadDaemonIsAFaultNotACrash) {
  FakeEngine engine(loop, 10);
  engine.refuse = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  FakeSut sut(0);
  OrchestratorPlan plan;
  Phase hold;
  hold.kind = Phase::Kind::hold;
  hold.duration = 5s;
  plan.phases = {connect_at(1000), hold};
  loop.after(100ms, [&] { engine.dead = true; });
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_NE(r.fault.find("charon pid 1 exited"), std::string::npos) << r.fault;
  EXPECT_LT(r.phases.back().end_s, 4.0);
}

TEST_F(OrchestratorTest, ADeadSutEndsTheRunAndLosesEveryUpPeer) {
  FakeEngine engine(loop, 10);
  FakeSut sut(10);
  OrchestratorPlan plan;
  plan.phases = {connect_at(1000), hold_for(10s), Phase{Phase::Kind::teardown}};
  loop.after(1500ms, [&] { sut.dead = true; });
  Orchestrator o(loop, engine, sut, plan);
  auto r = o.execute();
  EXPECT_TRUE(r.fault.empty()) << r.fault;  // the SUT's death is not the harness's fault
  ASSERT_TRUE(r.sut_died_at_s.has_value());
  EXPECT_GE(*r.sut_died_at_s, 1.4);
  EXPECT_LE(*r.sut_died_at_s, 3.1);  // noticed at the next tick
  EXPECT_NE(r.sut_death.find("SIGKILL"), std::string::npos) << r.sut_death;
  EXPECT_EQ(o.tracker().lost(), 10u);
  EXPECT_EQ(o.tracker().established(), 0u);
  EXPECT_EQ(engine.terminates, 0);  // nothing left to delete on a dead SUT
  EXPECT_LT(r.phases.back().end_s, 4.0);  // no 10 s hold, no teardown wait
  auto tl = r.timelines.take(0);
  ASSERT_FALSE(tl.empty());
  EXPECT_EQ(tl.back().event, "lost");
}

TEST_F(OrchestratorTest, ASilentIdleSutIsUnresponsiveABusyOneIsNot) {
  for (bool busy : {false, true}) {
    SCOPED_TRACE(busy ? "busy" : "idle");
    FakeEngine engine(loop, 5);
    FakeSut sut(5);
    sut.busy = busy;
    OrchestratorPlan plan;
    plan.sut_unresponsive_after = 1s;
    plan.phases = {connect_at(1000), hold_for(6000ms), Phase{Phase::Kind::teardown}};
    loop.after(1200ms, [&] { sut.silent = true; });
    loop.after(4200ms, [&] { sut.silent = false; });
    Orchestrator o(loop, engine, sut, plan);
    auto r = o.execute();
    EXPECT_FALSE(r.sut_died_at_s.has_value());
    if (busy) {
      EXPECT_TRUE(r.sut_unresponsive_s.empty());
      continue;
    }
    ASSERT_EQ(r.sut_unresponsive_s.size(), 1u);
    // Guaranteed whatever the load: the span starts at its last answer before the silence
    // (at most 1.2 s) and ends at its first answer after it (4.2 s or a tick later).
    const auto [from, to] = r.sut_unresponsive_s[0];
    EXPECT_GT(from, 0.0);
    EXPECT_LE(from, 1.25);
    EXPECT_GE(to, 4.15);
    EXPECT_LT(to, r.phases.back().end_s + 1.5);
  }
}

TEST(TimelineLog, KeepsTheFirstAndLastEventsAndCountsTheRest) {
  TimelineLog log(2);
  for (int i = 0; i < 40; ++i) log.add(0, {static_cast<double>(i), "child_rekey", ""});
  for (int i = 0; i < 5; ++i) log.add(1, {static_cast<double>(i), "e", ""});
  EXPECT_EQ(log.dropped(0), 40u - TimelineLog::kHead - TimelineLog::kTail);
  EXPECT_EQ(log.dropped_total(), log.dropped(0));
  auto tl = log.take(0);
  ASSERT_EQ(tl.size(), TimelineLog::kHead + TimelineLog::kTail + 1);
  for (std::size_t i = 0; i < TimelineLog::kHead; ++i) EXPECT_EQ(tl[i].t_ms, static_cast<double>(i));
  EXPECT_EQ(tl[TimelineLog::kHead].event, "summarised");
  EXPECT_NE(tl[TimelineLog::kHead].detail.find("24 events not kept"), std::string::npos) << tl[TimelineLog::kHead].detail;
  for (std::size_t i = 0; i < TimelineLog::kTail; ++i)
    EXPECT_EQ(tl[TimelineLog::kHead + 1 + i].t_ms, static_cast<double>(40 - TimelineLog::kTail + i));
  EXPECT_EQ(log.take(1).size(), 5u);
  EXPECT_EQ(log.dropped(1), 0u);
}
