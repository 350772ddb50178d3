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
  // Groups of 100, one group per second.
  auto g = Arrival::burst(100);
  EXPECT_EQ(arrival_offset(g, 99), 0ns);
  EXPECT_EQ(arrival_offset(g, 100), 1s);
  EXPECT_EQ(arrival_offset(g, 250), 2s);
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

TEST(PeerTracker, SteadyRekeyRateIgnoresWindowAlignment) {
  // 10 peers, CHILD rekey every 30 s, established together: waves at 30, 60, 90 s. A 75 s
  // window (two waves and a half-empty third) still gives 10/30 per second.
  PeerTracker tr(10);
  MonoTime t0{};
  for (uint32_t i = 0; i < 10; ++i) {
    tr.observe(obs(K::initiate_sent, i, t0));
    tr.observe(obs(K::ike_up, i, t0 + 10ms));
    tr.observe(obs(K::child_up, i, t0 + 10ms));
  }
  tr.set_rekey_window(true);
  for (int wave = 1; wave <= 2; ++wave)
    for (uint32_t i = 0; i < 10; ++i) tr.observe(obs(K::child_rekeyed, i, t0 + 10ms + wave * 30s));
  tr.set_rekey_window(false);
  EXPECT_NEAR(tr.window_rekey_rate_per_s(), 10.0 / 30.0, 1e-6);
  EXPECT_EQ(tr.window_child_rekeys(), 20u);
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

#include "fleet/charon_events.hpp"

TEST(CharonEvents, PeerNames) {
  EXPECT_EQ(peer_index_from_name("p0"), 0u);
  EXPECT_EQ(peer_index_from_name("p4999"), 4999u);
  EXPECT_FALSE(peer_index_from_name("p"));
  EXPECT_FALSE(peer_index_from_name("sut"));
  EXPECT_FALSE(peer_index_from_name("p12x"));
  EXPECT_FALSE(peer_index_from_name("p-1"));
  EXPECT_EQ(peer_conn_name(42), "p42");
}

TEST(CharonEvents, UpDownRekeyAndLog) {
  MonoTime t{};
  std::vector<PeerObservation> out;
  ist::vici::Message up;
  up.set("up", "yes");
  up.section("p7").set("uniqueid", "3");
  observations_from_event("ike-updown", up, t, out);
  observations_from_event("child-updown", up, t, out);
  ist::vici::Message down;
  down.section("p7").set("uniqueid", "3");
  observations_from_event("ike-updown", down, t, out);
  ist::vici::Message rekey;
  auto& kids = rekey.section("p9").section("child-sas");
  kids.section("net-1");
  kids.section("net-2");
  observations_from_event("child-rekey", rekey, t, out);
  ist::vici::Message ikerekey;
  ikerekey.section("p9").section("old");
  observations_from_event("ike-rekey", ikerekey, t, out);
  ist::vici::Message log;
  log.set("group", "IKE").set("level", "1").set("ikesa-name", "p3").set("msg", "giving up after 2 retransmits");
  observations_from_event("log", log, t, out);
  ist::vici::Message chatter;
  chatter.set("ikesa-name", "p3").set("msg", "sending packet: from 198.19.0.4[500] to 198.18.0.1[500]");
  observations_from_event("log", chatter, t, out);
  ist::vici::Message other;
  other.set("up", "yes");
  other.section("sut-conn");
  observations_from_event("ike-updown", other, t, out);

  using K = PeerObservation::Kind;
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].kind, K::ike_up);
  EXPECT_EQ(out[1].kind, K::child_up);
  EXPECT_EQ(out[2].kind, K::ike_down);
  EXPECT_EQ(out[3].kind, K::child_rekeyed);
  EXPECT_EQ(out[4].kind, K::child_rekeyed);
  EXPECT_EQ(out[3].peer, 9u);
  EXPECT_EQ(out[5].kind, K::ike_rekeyed);
  EXPECT_EQ(out[6].kind, K::attempt_failed);
  EXPECT_EQ(out[6].peer, 3u);
  EXPECT_EQ(out[6].detail, "giving up after 2 retransmits");
}

TEST(CharonEvents, AttemptEndingTexts) {
  EXPECT_TRUE(log_ends_attempt("received AUTHENTICATION_FAILED notify error"));
  EXPECT_TRUE(log_ends_attempt("received NO_PROPOSAL_CHOSEN notify error"));
  EXPECT_TRUE(log_ends_attempt("received TS_UNACCEPTABLE notify, no CHILD_SA built"));
  EXPECT_TRUE(log_ends_attempt("giving up after 5 retries"));
  EXPECT_TRUE(log_ends_attempt("establishing IKE_SA failed, peer not responding"));
  // The peer rejecting the SUT's AUTH ends the attempt too (no vici event says so).
  EXPECT_TRUE(log_ends_attempt("tried 1 shared key for 'peer-1.ikestorm.test' - 'sut.ikestorm.test', but MAC mismatched"));
  EXPECT_TRUE(log_ends_attempt("no trusted ECDSA public key found for 'sut.ikestorm.test'"));
  EXPECT_FALSE(log_ends_attempt("retransmit 1 of request with message ID 0"));
  EXPECT_FALSE(log_ends_attempt("received COOKIE notify"));
}
