// A CHILD rekey slower than peers.deadlines.child: the tracker keeps each peer's slowest
// measured rekey, and the initiator-side observations turn it into a child_deadline_missed
// on CREATE_CHILD_SA (QM_DELAY_DROP); rekeys without a measurement or within the deadline
// give none.
#include <gtest/gtest.h>

#include "fleet/peer_tracker.hpp"
#include "run/classify_run.hpp"

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
    auto events = run::initiator_observations(in);
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

}  // namespace
}  // namespace ist
