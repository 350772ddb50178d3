// A CHILD rekey slower than peers.deadlines.child: the tracker keeps each peer's slowest
// measured rekey, and the initiator-side observations turn it into a child_deadline_missed
// on CREATE_CHILD_SA (QM_DELAY_DROP); rekeys without a measurement or within the deadline
// give none. A refused or unanswered rekey of an established peer (the native engine's
// rekey_failed) becomes an initiator record on its own exchange, classified from its text.
#include <gtest/gtest.h>

#include "fleet/peer_tracker.hpp"
#include "run/classify_run.hpp"
#include "taxonomy/classifier.hpp"

namespace ist {
namespace {

using namespace std::chrono_literals;
using fleet::PeerObservation;
using K = PeerObservation::Kind;

TEST(SlowChildRekey, BecomesAQuickModeDelayOnCreateChildSa) {
  const MonoTime t0{};
  struct Case {
    const char* name;
    std::vector<std::chrono::milliseconds> rekeys;  // `took` of each child_rekeyed
    bool expect_record;
    int64_t slowest_ms;
  };
  const Case cases[] = {
      {"one late rekey", {6100ms}, true, 6100},
      {"the slowest of several", {200ms, 7000ms, 5500ms}, true, 7000},
      {"within the deadline", {4999ms, 5000ms}, false, 5000},
      {"not measured (charon engine)", {-1ms, -1ms}, false, -1},
  };
  for (const auto& c : cases) {
    fleet::PeerTracker tr(1);
    tr.observe({K::initiate_sent, 0, t0, ""});
    tr.observe({K::ike_up, 0, t0 + 50ms, ""});
    tr.observe({K::child_up, 0, t0 + 50ms, ""});
    auto t = t0 + 1s;
    for (auto took : c.rekeys) {
      t += 10s;
      PeerObservation o{K::child_rekeyed, 0, t, "by the peer"};
      o.took = took;
      tr.observe(o);
    }
    EXPECT_EQ(tr.peer(0).slowest_child_rekey.count(), c.slowest_ms) << c.name;
    run::ClassifyInput in;
    in.tracker = &tr;
    in.peer_names = {"p0"};
    in.peer_addresses = {"198.19.0.1"};
    in.run_start = t0;
    in.deadline_child = 5000ms;
    auto events = run::initiator_observations(in).events;
    ASSERT_EQ(events.size(), c.expect_record ? 1u : 0u) << c.name;
    if (!c.expect_record) continue;
    const auto& e = events[0];
    EXPECT_EQ(e.what, taxonomy::Observation::child_deadline_missed);
    EXPECT_EQ(e.sa, taxonomy::SaKind::child);
    EXPECT_EQ(e.exchange, "CREATE_CHILD_SA");
    EXPECT_EQ(e.peer, "p0");
    ASSERT_EQ(e.evidence.size(), 1u);
    EXPECT_NE(e.evidence[0].find("answered " + std::to_string(c.slowest_ms) + " ms after its request; deadline 5000 ms"),
              std::string::npos)
        << e.evidence[0];
  }
}

TEST(FailedRekey, IsAnInitiatorRecordOnItsExchangeAndThePeerStaysUp) {
  const MonoTime t0{};
  fleet::PeerTracker tr(1);
  tr.observe({K::initiate_sent, 0, t0, ""});
  tr.observe({K::ike_up, 0, t0 + 50ms, ""});
  tr.observe({K::child_up, 0, t0 + 50ms, ""});
  // The texts NativeFleet gives (native_fleet.cpp failure_text over the Initiator's details).
  tr.observe({K::rekey_failed, 0, t0 + 10s,
              "native: received TS_UNACCEPTABLE notify error (CHILD_SA rekey refused with TS_UNACCEPTABLE)"});
  tr.observe({K::rekey_failed, 0, t0 + 20s,
              "native: received NO_PROPOSAL_CHOSEN notify error (IKE_SA rekey refused with NO_PROPOSAL_CHOSEN)"});
  tr.observe({K::rekey_failed, 0, t0 + 30s,
              "native: giving up after 3 retransmits, peer not responding (delete of the rekeyed CHILD_SA: "
              "no answer)",
              fleet::FailureKind::no_response});
  tr.observe({K::rekey_failed, 0, t0 + 40s,
              "native: giving up after 3 retransmits, peer not responding (delete of the rekeyed IKE_SA: "
              "no answer)",
              fleet::FailureKind::no_response});
  EXPECT_EQ(tr.established(), 1u);
  EXPECT_EQ(tr.failed(), 0u);
  ASSERT_EQ(tr.rekey_failures().size(), 4u);
  EXPECT_EQ(tr.rekey_failures_not_kept(), 0u);

  run::ClassifyInput in;
  in.tracker = &tr;
  in.peer_names = {"p0"};
  in.peer_addresses = {"198.19.0.1"};
  in.run_start = t0;
  auto events = run::initiator_observations(in).events;
  ASSERT_EQ(events.size(), 4u);
  using taxonomy::Observation;
  using taxonomy::SaKind;
  EXPECT_EQ(events[0].what, Observation::ts_unacceptable);
  EXPECT_EQ(events[0].sa, SaKind::child);
  EXPECT_EQ(events[0].exchange, "CREATE_CHILD_SA");
  EXPECT_EQ(events[0].attempt, "p0#rekey-1");
  EXPECT_EQ(events[0].t_ms, 10000);
  EXPECT_EQ(events[1].what, Observation::no_proposal_chosen);
  EXPECT_EQ(events[1].sa, SaKind::ike);
  EXPECT_EQ(events[2].what, Observation::no_response);
  EXPECT_EQ(events[2].exchange, "INFORMATIONAL");
  EXPECT_EQ(events[2].attempt, "p0#rekey-3");
  EXPECT_EQ(events[2].sa, SaKind::child);
  EXPECT_EQ(events[3].sa, SaKind::ike);
  EXPECT_EQ(events[3].exchange, "INFORMATIONAL");

  // Each is a record with a Windows code of its own; none is left unclassified.
  taxonomy::Classifier classifier;
  auto r = classifier.classify(events);
  ASSERT_EQ(r.failures.size(), 4u);
  for (const auto& f : r.failures) EXPECT_FALSE(f.code.name.empty()) << f.exchange;
  EXPECT_EQ(r.failures[0].code.name, "ERROR_IPSEC_IKE_NO_POLICY");  // the ts-unacceptable rule
  EXPECT_EQ(r.failures[2].code.name, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE");
}

TEST(FailedRekey, OnlyTheFirstManyAreKeptTheRestCounted) {
  fleet::PeerTracker tr(1);
  const auto n = fleet::PeerTracker::kMaxRekeyFailures + 3;
  for (std::size_t i = 0; i < n; ++i) tr.observe({K::rekey_failed, 0, MonoTime{}, "x"});
  EXPECT_EQ(tr.rekey_failures().size(), fleet::PeerTracker::kMaxRekeyFailures);
  EXPECT_EQ(tr.rekey_failures_not_kept(), 3u);
}

}  // namespace
}  // namespace ist
