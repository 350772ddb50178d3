// Kernel events in the classifier input (run::kernel_observations): an ACQUIRE with no
// IKE_SA up within deadlines.ike becomes child_dropped_no_ike -> QUEUE_DROP_NO_MM (13812,
// approximate), on the side whose namespace acquired; an IKE_SA in time means no record.
#include <gtest/gtest.h>

#include "run/classify_run.hpp"
#include "taxonomy/classifier.hpp"

namespace ist::run {
namespace {

using namespace std::chrono_literals;
using K = fleet::PeerObservation::Kind;

struct Case {
  const char* name;
  std::optional<int64_t> ike_up_ms;  // since run start; nullopt: never
  const char* ns;
  const char* kind;
  bool expect_record;
};

TEST(XfrmClassify, AcquireWithoutIkeSaByTheDeadlineIsQueueDropNoMm) {
  const MonoTime t0{};
  for (const Case& c : {Case{"never up", std::nullopt, "peers", "acquire", true},
                        Case{"up after deadline", 12500, "peers", "acquire", true},
                        Case{"up in time", 3000, "peers", "acquire", false},
                        Case{"sut acquires", std::nullopt, "sut", "acquire", true},
                        Case{"expire is not an acquire", std::nullopt, "peers", "expire", false}}) {
    fleet::PeerTracker tracker(2);
    tracker.observe({K::initiate_sent, 0, t0 + 1000ms, ""});
    if (c.ike_up_ms) tracker.observe({K::ike_up, 0, t0 + std::chrono::milliseconds(*c.ike_up_ms), ""});
    ClassifyInput in;
    in.tracker = &tracker;
    in.peer_names = {"p0", "p1"};
    in.peer_addresses = {"198.19.0.1", "198.19.0.2"};
    in.run_start = t0;
    in.deadline_ike = 10000ms;
    in.kernel_events.push_back({0, 1000, c.ns, c.kind, "acquire esp 198.19.0.1 -> 198.18.0.1 for ..."});
    in.kernel_events.push_back({0, 1500, c.ns, c.kind, "a second one"});
    auto obs = kernel_observations(in);
    ASSERT_EQ(obs.size(), c.expect_record ? 1u : 0u) << c.name;
    if (!c.expect_record) continue;
    const auto& e = obs[0];
    EXPECT_EQ(e.what, taxonomy::Observation::child_dropped_no_ike) << c.name;
    EXPECT_EQ(e.side, std::string(c.ns) == "sut" ? taxonomy::Side::responder : taxonomy::Side::initiator);
    EXPECT_EQ(e.peer, "p0");
    EXPECT_EQ(e.t_ms, 11000);  // the ACQUIRE's deadline
    ASSERT_EQ(e.evidence.size(), 2u);
    EXPECT_NE(e.evidence[0].find("kernel (" + std::string(c.ns) + "): acquire"), std::string::npos);

    taxonomy::Classifier classifier;
    auto r = classifier.classify(obs);
    ASSERT_EQ(r.failures.size(), 1u) << c.name;
    EXPECT_EQ(r.failures[0].code.value, 13812u);
    EXPECT_FALSE(r.failures[0].exact);
  }
}

}  // namespace
}  // namespace ist::run

namespace ist::run {
namespace {

TEST(XfrmClassify, CounterDeltasInTheTimeseriesBecomeCounterRecords) {
  std::vector<reports::TimeseriesPoint> ts(3);
  ts[0].t_s = 1;
  ts[0].xfrm["sut"].xfrm_stat = {{"XfrmInNoStates", 4}, {"XfrmInError", 9}};  // InError: no rule
  ts[1].t_s = 2;
  ts[1].xfrm["peers"].xfrm_stat = {{"XfrmOutNoStates", 2}};
  ts[2].t_s = 3;  // not observed: nothing
  auto obs = xfrm_counter_observations(ts);
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_EQ(obs[0].what, taxonomy::Observation::xfrm_in_no_states);
  EXPECT_EQ(obs[0].side, taxonomy::Side::responder);
  EXPECT_EQ(obs[0].count, 4u);
  EXPECT_EQ(obs[0].t_ms, 1000);
  EXPECT_EQ(obs[1].what, taxonomy::Observation::xfrm_out_no_states);
  EXPECT_EQ(obs[1].side, taxonomy::Side::initiator);

  taxonomy::Classifier classifier;
  auto r = classifier.classify(obs);
  ASSERT_EQ(r.codes.count("ERROR_IPSEC_BAD_SPI"), 1u);
  EXPECT_EQ(r.codes.at("ERROR_IPSEC_BAD_SPI").attempts, 4u);
  ASSERT_EQ(r.codes.count("STATUS_IPSEC_QUEUE_OVERFLOW"), 1u);
  EXPECT_EQ(r.codes.at("STATUS_IPSEC_QUEUE_OVERFLOW").attempts, 2u);
}

}  // namespace
}  // namespace ist::run

namespace ist::run {
namespace {

// peers.trap_traffic: each peer's losses become its own QUEUE_OVERFLOW record when all of them
// are the peers' kernel's XfrmOutNoStates; otherwise no peer is named.
TEST(XfrmClassify, TrapTrafficNamesEachPeerWhenEveryLossIsTheKernels) {
  for (bool all_no_state : {true, false}) {
    fleet::PeerTracker tracker(2);
    ClassifyInput in;
    in.tracker = &tracker;
    in.peer_names = {"p0", "p1"};
    in.peer_addresses = {"198.19.0.1", "198.19.0.2"};
    in.kernel_events = {{0, 5, "peers", "acquire", "acquire esp ... (policy out #1)"},
                        {0, 3005, "peers", "acquire", "acquire esp ... (policy out #1)"},
                        {1, 7, "peers", "acquire", "acquire esp ... (policy out #2)"},
                        {1, 9, "sut", "acquire", "not the peers namespace"}};
    reports::RunReport rep;
    rep.trap_traffic = reports::TrapTrafficSummary{};
    rep.trap_traffic->lost = 30;
    rep.trap_traffic->peers_xfrm_out_no_states = all_no_state ? 30 : 25;
    rep.trap_traffic->lost_is_no_state = all_no_state;
    rep.trap_traffic_peers = {{"p0", 100, 0, 80, 20, 0}, {"p1", 100, 0, 90, 10, 0}};
    auto obs = trap_traffic_observations(in, rep);
    EXPECT_EQ(rep.trap_traffic_peers[0].acquires, 2u);
    EXPECT_EQ(rep.trap_traffic_peers[1].acquires, 1u);
    if (!all_no_state) {
      EXPECT_TRUE(obs.empty());
      continue;
    }
    ASSERT_EQ(obs.size(), 2u);
    EXPECT_EQ(obs[0].peer, "p0");
    EXPECT_EQ(obs[0].count, 20u);
    EXPECT_EQ(obs[0].side, taxonomy::Side::initiator);
    EXPECT_EQ(obs[0].t_ms, 5);
    EXPECT_NE(obs[0].evidence[2].find("2 ACQUIRE(s)"), std::string::npos);
    taxonomy::Classifier classifier;
    auto r = classifier.classify(obs);
    ASSERT_EQ(r.codes.count("STATUS_IPSEC_QUEUE_OVERFLOW"), 1u);
    EXPECT_EQ(r.codes.at("STATUS_IPSEC_QUEUE_OVERFLOW").attempts, 30u);
    EXPECT_EQ(r.codes.at("STATUS_IPSEC_QUEUE_OVERFLOW").peers.value_or(0), 2u);
  }
}

}  // namespace
}  // namespace ist::run
