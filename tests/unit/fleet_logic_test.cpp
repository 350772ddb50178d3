#include <gtest/gtest.h>

#include "fleet/arrival.hpp"
#include "fleet/peer_tracker.hpp"

using namespace ist;
using namespace ist::fleet;
using namespace std::chrono_literals;

TEST(Arrival, RateIsEvenlySpaced) {
  auto a = Arrival::at_rate(200);
  EXPECT_EQ(arrival_offset(a, 0), 0ns);
  EXPECT_EQ(arrival_offset(a, 1), 5ms);
  EXPECT_EQ(arrival_offset(a, 200), 1s);
}

TEST(Arrival, BurstIsImmediate) {
  auto a = Arrival::burst();
  EXPECT_EQ(arrival_offset(a, 0), 0ns);
  EXPECT_EQ(arrival_offset(a, 4999), 0ns);
}

TEST(Arrival, RampIntegratesTheRate) {
  // 10/s -> 30/s over 10 s: 200 arrivals during the ramp, then 30/s.
  auto a = Arrival::ramp(10, 30, 10s);
  EXPECT_EQ(arrival_offset(a, 0), 0ns);
  auto t200 = std::chrono::duration<double>(arrival_offset(a, 200)).count();
  EXPECT_NEAR(t200, 10.0, 1e-6);
  auto t230 = std::chrono::duration<double>(arrival_offset(a, 230)).count();
  EXPECT_NEAR(t230, 11.0, 1e-6);
  // Halfway through the ramp's time: 10*5 + 20*25/20 = 75 arrivals.
  auto t75 = std::chrono::duration<double>(arrival_offset(a, 75)).count();
  EXPECT_NEAR(t75, 5.0, 1e-6);
  // Monotonic.
  for (uint64_t k = 1; k < 400; ++k) EXPECT_LE(arrival_offset(a, k - 1), arrival_offset(a, k));
}

namespace {
using K = PeerObservation::Kind;
PeerObservation obs(K k, uint32_t peer, MonoTime t, std::string d = "") { return {k, peer, t, std::move(d)}; }
}  // namespace

TEST(PeerTracker, EstablishedNeedsIkeAndChild) {
  PeerTracker tr(3);
  MonoTime t0{};
  tr.observe(obs(K::initiate_sent, 0, t0));
  tr.observe(obs(K::ike_up, 0, t0 + 10ms));
  EXPECT_EQ(tr.established(), 0u);
  EXPECT_EQ(tr.connecting(), 1u);
  tr.observe(obs(K::child_up, 0, t0 + 25ms));
  EXPECT_EQ(tr.established(), 1u);
  EXPECT_EQ(tr.connecting(), 0u);
  ASSERT_EQ(tr.setup_latencies_ms().size(), 1u);
  EXPECT_DOUBLE_EQ(tr.setup_latencies_ms()[0], 25.0);
  EXPECT_EQ(tr.first_initiate(), t0);
  EXPECT_EQ(tr.last_established(), t0 + 25ms);
}

TEST(PeerTracker, RekeyedChildDoesNotCountTwice) {
  PeerTracker tr(1);
  MonoTime t0{};
  tr.observe(obs(K::initiate_sent, 0, t0));
  tr.observe(obs(K::ike_up, 0, t0 + 1ms));
  tr.observe(obs(K::child_up, 0, t0 + 2ms));
  tr.observe(obs(K::child_up, 0, t0 + 60s));  // the rekeyed CHILD_SA
  tr.observe(obs(K::child_rekeyed, 0, t0 + 60s));
  EXPECT_EQ(tr.ever_established(), 1u);
  EXPECT_EQ(tr.setup_latencies_ms().size(), 1u);
  EXPECT_EQ(tr.child_rekeys(), 1u);
}

TEST(PeerTracker, FailureOnlyWhileConnecting) {
  PeerTracker tr(2);
  MonoTime t0{};
  tr.observe(obs(K::initiate_sent, 0, t0));
  tr.observe(obs(K::initiate_sent, 1, t0));
  tr.observe(obs(K::ike_up, 1, t0 + 1ms));
  tr.observe(obs(K::child_up, 1, t0 + 2ms));
  EXPECT_TRUE(tr.observe(obs(K::attempt_failed, 0, t0 + 10s, "giving up after 2 retransmits")));
  EXPECT_FALSE(tr.observe(obs(K::attempt_timeout, 1, t0 + 10s)));
  EXPECT_EQ(tr.failed(), 1u);
  EXPECT_EQ(tr.established(), 1u);
  EXPECT_EQ(tr.peer(0).failure, "giving up after 2 retransmits");
  EXPECT_EQ(tr.peer(0).state, PeerState::failed);
}

TEST(PeerTracker, RekeyWindowCountsOnlyWhileOpen) {
  PeerTracker tr(1);
  MonoTime t0{};
  tr.observe(obs(K::child_rekeyed, 0, t0));
  tr.set_rekey_window(true);
  tr.observe(obs(K::child_rekeyed, 0, t0));
  tr.observe(obs(K::ike_rekeyed, 0, t0));
  tr.set_rekey_window(false);
  tr.observe(obs(K::child_rekeyed, 0, t0));
  EXPECT_EQ(tr.child_rekeys(), 3u);
  EXPECT_EQ(tr.window_child_rekeys(), 1u);
  EXPECT_EQ(tr.window_ike_rekeys(), 1u);
}

TEST(PeerTracker, DownAfterEstablishedAndOutOfRangeIgnored) {
  PeerTracker tr(1);
  MonoTime t0{};
  tr.observe(obs(K::initiate_sent, 0, t0));
  tr.observe(obs(K::ike_up, 0, t0));
  tr.observe(obs(K::child_up, 0, t0));
  EXPECT_EQ(tr.ike_active(), 1u);
  EXPECT_TRUE(tr.observe(obs(K::ike_down, 0, t0 + 1s)));
  EXPECT_EQ(tr.established(), 0u);
  EXPECT_EQ(tr.ike_active(), 0u);
  EXPECT_EQ(tr.child_active(), 0u);
  EXPECT_EQ(tr.ever_established(), 1u);
  EXPECT_FALSE(tr.observe(obs(K::ike_up, 7, t0)));
}
