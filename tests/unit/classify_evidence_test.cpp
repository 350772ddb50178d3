// A Windows code only from evidence: every path that used to fall through to DROP_NO_RESPONSE
// (or to QUEUE_DROP_NO_MM for a failed vici initiate) now ends as what it is: unclassified with
// its evidence, a harness fault without a code, or an abandoned attempt that is no failure.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "fleet/charon_events.hpp"
#include "fleet/peer_tracker.hpp"
#include "run/classify_run.hpp"

namespace ist {
namespace {

using namespace std::chrono_literals;
using fleet::FailureKind;
using K = fleet::PeerObservation::Kind;

struct Ending {
  const char* name;
  K kind;
  const char* text;
  FailureKind failure;
};

// One peer per ending, each initiated at t0 and ended 1 s later.
struct EndedPeers {
  fleet::PeerTracker tracker;
  run::ClassifyInput in;
  explicit EndedPeers(const std::vector<Ending>& endings) : tracker(static_cast<uint32_t>(endings.size())) {
    const MonoTime t0{};
    for (uint32_t i = 0; i < endings.size(); ++i) {
      tracker.observe({K::initiate_sent, i, t0, ""});
      tracker.observe({endings[i].kind, i, t0 + 1s, endings[i].text, endings[i].failure});
      in.peer_names.push_back("p" + std::to_string(i));
      in.peer_addresses.push_back("198.19.0." + std::to_string(i + 1));
    }
    in.tracker = &tracker;
    in.run_start = t0;
  }
};

TEST(CodesOnlyFromEvidence, OldFallbacksAreUnclassifiedHarnessOrAbandoned) {
  const std::vector<Ending> endings = {
      // The native engine: an answer it cannot use, too many COOKIE / INVALID_KE rounds.
      {"protocol_error", K::attempt_failed, "native: protocol_error: IKE_SA_INIT response without a KE payload",
       FailureKind::evidence},
      {"retry_limit", K::attempt_failed, "native: retry_limit: 6 COOKIE rounds", FailureKind::evidence},
      // charon's COOKIE retry limit is an answer, not silence.
      {"cookie retries", K::attempt_failed, "giving up after 5 retries", FailureKind::evidence},
      // The harness's own side.
      {"trap socket", K::attempt_failed, "trap trigger: 198.19.128.1 -> 198.18.255.1: Network is unreachable",
       FailureKind::harness},
      {"vici transport", K::attempt_failed, "initiate: vici: connection reset by peer", FailureKind::harness},
      {"vici refusal", K::attempt_failed, "initiate: CHILD_SA config 'c' not found", FailureKind::harness},
      // Cut short by the harness itself.
      {"abandoned", K::attempt_failed, "native: attempt abandoned by terminate before it completed",
       FailureKind::abandoned},
      // The harness's attempt timeout with no retransmit seen: the engine lost track of the
      // attempt (a hung daemon), not the SUT's silence (see NoResponseNeedsARetransmit).
      {"attempt timeout", K::attempt_timeout, "no result within 12 s of initiate", FailureKind::evidence},
      {"retransmits", K::attempt_failed, "giving up after 3 retransmits", FailureKind::no_response},
  };
  EndedPeers r(endings);
  EXPECT_EQ(r.tracker.failed(), 8u);
  EXPECT_EQ(r.tracker.abandoned(), 1u);
  EXPECT_EQ(r.tracker.harness_faults(), 4u);
  EXPECT_EQ(r.tracker.peer(6).state, fleet::PeerState::down);

  auto obs = run::initiator_observations(r.in);
  ASSERT_EQ(obs.unclassified.size(), 3u);
  EXPECT_EQ(obs.unclassified[0].peer, "p0");
  EXPECT_EQ(obs.unclassified[1].peer, "p1");
  EXPECT_EQ(obs.unclassified[2].peer, "p2");
  EXPECT_EQ(obs.unclassified[0].evidence.at(0), endings[0].text);
  EXPECT_EQ(obs.unclassified[0].exchange, "IKE_SA_INIT");
  ASSERT_EQ(obs.harness.size(), 4u);
  EXPECT_EQ(obs.harness[0].peer, "p3");
  EXPECT_EQ(obs.harness[2].peer, "p5");
  EXPECT_EQ(obs.harness[3].peer, "p7");
  EXPECT_NE(obs.harness[3].evidence.at(0).find("the engine never retransmitted for it"), std::string::npos)
      << obs.harness[3].evidence.at(0);
  ASSERT_EQ(obs.events.size(), 1u);
  for (const auto& e : obs.events) EXPECT_EQ(e.what, taxonomy::Observation::no_response) << e.peer;

  reports::RunReport rep;
  run::classify_point(r.in, rep);
  EXPECT_EQ(rep.summary.unclassified, 3u);           // peers p0..p2
  EXPECT_EQ(rep.summary.unclassified_attempts, 3u);
  EXPECT_EQ(rep.summary.harness_faults, 4u);
  ASSERT_EQ(rep.unclassified.size(), 3u);
  EXPECT_EQ(rep.unclassified[1].evidence.at(0), endings[1].text);
  ASSERT_EQ(rep.harness_faults.size(), 4u);
  EXPECT_EQ(rep.harness_faults[1].evidence.at(0), endings[4].text);
  // Only the peer whose initiator gave up after its retransmits carries a code.
  ASSERT_EQ(rep.codes.size(), 1u);
  EXPECT_EQ(rep.codes.at("ERROR_IPSEC_IKE_DROP_NO_RESPONSE").peers, 1u);
  for (const auto& f : rep.failures) EXPECT_EQ(f.peer, "p8");
}

TEST(CodesOnlyFromEvidence, NoResponseFromTheAttemptTimeoutNeedsARetransmit) {
  // The harness's attempt timeout reads as the SUT's silence only when the engine was seen
  // re-sending for that attempt; a retransmit of an earlier attempt does not count.
  fleet::PeerTracker tracker(3);
  const MonoTime t0{};
  for (uint32_t i = 0; i < 3; ++i) tracker.observe({K::initiate_sent, i, t0, ""});
  tracker.observe({K::retransmitted, 0, t0 + 2s, ""});
  tracker.observe({K::retransmitted, 2, t0 + 2s, ""});
  tracker.observe({K::attempt_failed, 2, t0 + 20s, "giving up after 3 retransmits", FailureKind::no_response});
  tracker.observe({K::initiate_sent, 2, t0 + 21s, ""});  // a new attempt: no retransmit yet
  tracker.observe({K::attempt_timeout, 0, t0 + 29s, "no result within 28 s of initiate"});
  tracker.observe({K::attempt_timeout, 1, t0 + 29s, "no result within 28 s of initiate"});
  tracker.observe({K::attempt_timeout, 2, t0 + 50s, "no result within 28 s of initiate"});
  EXPECT_EQ(tracker.peer(0).failure_kind, FailureKind::no_response);
  EXPECT_EQ(tracker.peer(0).failure, "no result within 28 s of initiate");
  EXPECT_EQ(tracker.peer(1).failure_kind, FailureKind::harness);
  EXPECT_EQ(tracker.peer(1).failure,
            "no result within 28 s of initiate, and the engine never retransmitted for it: it lost track of the "
            "attempt (no IKE_SA outcome)");
  EXPECT_EQ(tracker.peer(2).failure_kind, FailureKind::harness);
  EXPECT_EQ(tracker.harness_faults(), 2u);
}

TEST(CodesOnlyFromEvidence, ACharonRetransmitLogLineIsARetransmitOfThatPeer) {
  vici::Message m;
  m.set("group", "IKE").set("level", "1").set("ikesa-name", "p42");
  m.set("msg", "retransmit 2 of request with message ID 0");
  std::vector<fleet::PeerObservation> out;
  fleet::observations_from_event("log", m, MonoTime{}, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].kind, K::retransmitted);
  EXPECT_EQ(out[0].peer, 42u);
  out.clear();
  // Its answer to the peer's retransmit is not ours.
  m.set("msg", "received retransmit of request with ID 3, retransmitting response");
  fleet::observations_from_event("log", m, MonoTime{}, out);
  EXPECT_TRUE(out.empty());
}

TEST(CodesOnlyFromEvidence, TheExchangeIsTheEnginesWhenItKnowsIt) {
  // A refused IKE_AUTH leaves no IKE_SA up: only the engine knows it was not IKE_SA_INIT.
  fleet::PeerTracker tracker(2);
  run::ClassifyInput in;
  const MonoTime t0{};
  for (uint32_t i = 0; i < 2; ++i) {
    tracker.observe({K::initiate_sent, i, t0, ""});
    fleet::PeerObservation o{K::attempt_failed, i, t0 + 1s, "native: received AUTHENTICATION_FAILED notify error"};
    o.exchange = i == 0 ? "IKE_AUTH" : nullptr;
    tracker.observe(o);
    in.peer_names.push_back("p" + std::to_string(i));
    in.peer_addresses.push_back("198.19.0." + std::to_string(i + 1));
  }
  in.tracker = &tracker;
  in.run_start = t0;
  auto obs = run::initiator_observations(in);
  ASSERT_EQ(obs.unclassified.size() + obs.events.size(), 2u);
  std::map<std::string, std::string> exchange;
  for (const auto& e : obs.unclassified) exchange[e.peer] = e.exchange;
  for (const auto& e : obs.events) exchange[e.peer] = e.exchange;
  EXPECT_EQ(exchange["p0"], "IKE_AUTH");
  EXPECT_EQ(exchange["p1"], "IKE_SA_INIT");  // unknown to the engine: inferred, nothing was up
}

TEST(CodesOnlyFromEvidence, AFailedViciInitiateIsNoQueueDrop) {
  // It used to be child_dropped_no_ike (QUEUE_DROP_NO_MM) by its "initiate:" prefix.
  EXPECT_FALSE(run::observation_of_failure_text("initiate: vici: timed out").has_value());
  EXPECT_FALSE(run::observation_of_failure_text("no result within 12 s of initiate").has_value());
  EXPECT_EQ(run::observation_of_failure_text("received NO_PROPOSAL_CHOSEN notify error"),
            taxonomy::Observation::no_proposal_chosen);
}

TEST(CodesOnlyFromEvidence, RekeyFailuresFollowTheirKindToo) {
  fleet::PeerTracker tr(1);
  const MonoTime t0{};
  tr.observe({K::initiate_sent, 0, t0, ""});
  tr.observe({K::ike_up, 0, t0 + 10ms, ""});
  tr.observe({K::child_up, 0, t0 + 10ms, ""});
  tr.observe({K::rekey_failed, 0, t0 + 5s, "native: protocol_error: CREATE_CHILD_SA answer without SA",
              FailureKind::evidence});
  tr.observe({K::rekey_failed, 0, t0 + 6s, "native: sending: No buffer space available", FailureKind::harness});
  run::ClassifyInput in;
  in.tracker = &tr;
  in.peer_names = {"p0"};
  in.peer_addresses = {"198.19.0.1"};
  in.run_start = t0;
  auto obs = run::initiator_observations(in);
  EXPECT_TRUE(obs.events.empty());
  ASSERT_EQ(obs.unclassified.size(), 1u);
  EXPECT_EQ(obs.unclassified[0].exchange, "CREATE_CHILD_SA");
  ASSERT_EQ(obs.harness.size(), 1u);
  EXPECT_EQ(tr.harness_faults(), 1u);
  EXPECT_EQ(tr.established(), 1u);
}

TEST(CodesOnlyFromEvidence, CharonLogTextsSayWhetherTheyAreSilence) {
  EXPECT_TRUE(fleet::log_means_no_response("giving up after 5 retransmits"));
  EXPECT_TRUE(fleet::log_means_no_response("establishing IKE_SA failed, peer not responding"));
  EXPECT_FALSE(fleet::log_means_no_response("giving up after 5 retries"));
  EXPECT_FALSE(fleet::log_means_no_response("received AUTHENTICATION_FAILED notify error"));
}

TEST(SutDeath, UpPeersAreLostOnceAndLeaveTheActiveCounts) {
  fleet::PeerTracker tr(3);
  const MonoTime t0{};
  for (uint32_t i = 0; i < 2; ++i) {
    tr.observe({K::initiate_sent, i, t0, ""});
    tr.observe({K::ike_up, i, t0 + 10ms, ""});
    tr.observe({K::child_up, i, t0 + 10ms, ""});
  }
  tr.observe({K::initiate_sent, 2, t0, ""});
  for (uint32_t i = 0; i < 3; ++i) tr.observe({K::lost, i, t0 + 8s, "SUT died"});
  tr.observe({K::lost, 0, t0 + 9s, "again"});
  EXPECT_EQ(tr.lost(), 2u);
  EXPECT_EQ(tr.ike_active(), 0u);
  EXPECT_EQ(tr.child_active(), 0u);
  EXPECT_EQ(tr.established(), 0u);
  EXPECT_EQ(tr.ever_established(), 2u);
  EXPECT_EQ(tr.connecting(), 1u);
}

}  // namespace
}  // namespace ist

namespace ist {
namespace {

// A shared gateway's log (an external target: other generators and clients use it too):
// what it says about addresses that are not this run's peers is not this run's failure.
TEST(SharedGateway, OthersAddressesAreLeftOut) {
  char dir[] = "/tmp/ist-shared-gw-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string log = std::string(dir) + "/gateway.log";
  {
    std::ofstream f(log);
    f << "Jan  1 00:00:01 07[IKE] <rw|5> 198.19.64.9 is initiating an IKE_SA\n"
         "Jan  1 00:00:01 07[IKE] <rw|5> tried 1 shared key for 'gw' - 'peer-500', but MAC mismatched\n";
  }
  fleet::PeerTracker tr(1);
  const MonoTime t0{};
  tr.observe({K::initiate_sent, 0, t0, ""});
  tr.observe({K::ike_up, 0, t0 + 10ms, ""});
  tr.observe({K::child_up, 0, t0 + 10ms, ""});
  run::ClassifyInput in;
  in.tracker = &tr;
  in.peer_names = {"p0"};
  in.peer_addresses = {"198.19.0.1"};
  in.run_start = t0;
  in.sut_log = log;
  reports::RunReport alone, shared;
  run::classify_point(in, alone);
  EXPECT_EQ(alone.codes.count("ERROR_IPSEC_IKE_AUTH_FAIL"), 1u);  // the harness's own SUT: every line is ours
  in.sut_shared = true;
  auto out = run::classify_point(in, shared);
  EXPECT_TRUE(shared.codes.empty());
  ASSERT_FALSE(out.notes.empty());
  EXPECT_NE(out.notes.back().find("1 event(s) about addresses that are not this run's peers"), std::string::npos)
      << out.notes.back();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ist
