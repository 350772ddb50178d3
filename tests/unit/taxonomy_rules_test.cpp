// Classification rules and classifier: the rule table is consistent with the code table,
// each observation maps to the intended code, records merge per attempt, and the recorded
// real logs classify into the codes and counts they show (counted with grep, see README).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "charon/log_parser.hpp"
#include "taxonomy/classifier.hpp"
#include "charon/log_observations.hpp"
#include "taxonomy/rules.hpp"

namespace ist::taxonomy {
namespace {

TEST(TaxonomyRules, EveryRuleNamesAKnownCodeAndHasAReason) {
  auto st = validate_rules(rules(), CodeTable::instance());
  EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().describe());
}

TEST(TaxonomyRules, ValidationCatchesBadTables) {
  const Rule unknown_code[] = {{"x", Observation::cookie_sent, std::nullopt, std::nullopt,
                                "ERROR_NO_SUCH_CODE", Mapping::exact, false, "r", "a"}};
  EXPECT_FALSE(validate_rules(unknown_code, CodeTable::instance()).ok());
  const Rule dup[] = {{"x", Observation::cookie_sent, std::nullopt, std::nullopt,
                       "ERROR_IPSEC_IKE_DOS_COOKIE_SENT", Mapping::exact, true, "r", "a"},
                      {"x", Observation::no_response, std::nullopt, std::nullopt,
                       "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", Mapping::exact, false, "r", "a"}};
  EXPECT_FALSE(validate_rules(dup, CodeTable::instance()).ok());
}

TEST(TaxonomyRules, EveryObservationHasARule) {
  for (int i = 0; i < kObservationCount; ++i) {
    auto o = static_cast<Observation>(i);
    bool found = false;
    for (const auto& r : rules()) found = found || r.what == o;
    EXPECT_TRUE(found) << to_string(o);
    EXPECT_EQ(observation_from_string(to_string(o)), o);
  }
}

struct MapCase {
  Observation what;
  Side side;
  SaKind sa;
  const char* code;  // nullptr: no rule
  bool exact;
  bool informational;
};

const MapCase kMap[] = {
    {Observation::ike_sa_limit_hit, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_MM_LIMIT", true, false},
    {Observation::ike_sa_limit_hit, Side::initiator, SaKind::ike, nullptr, false, false},
    {Observation::half_open_limit, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_QUEUE_DROP_MM", false, false},
    {Observation::job_load_limit, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_QUEUE_DROP_MM", false, false},
    {Observation::per_ip_half_open_limit, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_RATELIMIT_DROP", false, false},
    {Observation::cookie_sent, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_DOS_COOKIE_SENT", true, true},
    {Observation::no_response, Side::initiator, SaKind::ike, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", true, false},
    {Observation::no_response, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", true, false},
    {Observation::ike_deadline_missed, Side::initiator, SaKind::ike, "ERROR_IPSEC_IKE_MM_DELAY_DROP", false, false},
    {Observation::child_deadline_missed, Side::initiator, SaKind::child, "ERROR_IPSEC_IKE_QM_DELAY_DROP", false, false},
    {Observation::child_dropped_no_ike, Side::initiator, SaKind::child, "ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM", false, false},
    {Observation::rekey_collision, Side::responder, SaKind::child, "ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", true, false},
    {Observation::no_proposal_chosen, Side::initiator, SaKind::ike, "ERROR_IPSEC_IKE_ATTRIB_FAIL", true, false},
    {Observation::no_proposal_chosen, Side::responder, SaKind::child, "ERROR_IPSEC_IKE_ATTRIB_FAIL", true, false},
    {Observation::ts_unacceptable, Side::responder, SaKind::child, "ERROR_IPSEC_IKE_NO_POLICY", false, false},
    {Observation::authentication_failed, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_AUTH_FAIL", true, false},
    {Observation::no_peer_config, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_AUTH_FAIL", false, false},
    {Observation::no_ike_config, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_NO_MM_POLICY", false, false},
    {Observation::spi_alloc_failed, Side::responder, SaKind::child, "ERROR_IPSEC_IKE_GETSPIFAIL", true, false},
    {Observation::sa_install_failed, Side::responder, SaKind::child, "ERROR_IPSEC_IKE_ADD_UPDATE_KEY_FAILED", true, false},
    {Observation::child_hard_expired, Side::responder, SaKind::child, "ERROR_IPSEC_IKE_QM_EXPIRED", true, false},
    {Observation::ike_hard_expired, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_MM_EXPIRED", true, false},
    {Observation::delete_received, Side::responder, SaKind::ike, "ERROR_IPSEC_IKE_MM_EXPIRED", false, true},
    {Observation::delete_received, Side::responder, SaKind::child, nullptr, false, false},
    {Observation::xfrm_in_no_states, Side::responder, SaKind::child, "ERROR_IPSEC_BAD_SPI", true, false},
    {Observation::xfrm_out_no_states, Side::responder, SaKind::child, "STATUS_IPSEC_QUEUE_OVERFLOW", false, false},
};

TEST(TaxonomyRules, ObservationsMapToTheIntendedCodes) {
  for (const auto& c : kMap) {
    SCOPED_TRACE(std::string(to_string(c.what)) + "/" + std::string(to_string(c.side)) + "/" +
                 std::string(to_string(c.sa)));
    ObservedEvent e;
    e.what = c.what;
    e.side = c.side;
    e.sa = c.sa;
    const Rule* r = find_rule(rules(), e);
    if (!c.code) {
      EXPECT_EQ(r, nullptr);
      continue;
    }
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->code, c.code);
    EXPECT_EQ(r->mapping == Mapping::exact, c.exact);
    EXPECT_EQ(r->informational, c.informational);
  }
}

ObservedEvent ev(Observation what, Side side, int64_t t, std::string address, std::string attempt,
                 std::string line) {
  ObservedEvent e;
  e.what = what;
  e.side = side;
  e.t_ms = t;
  e.address = std::move(address);
  e.attempt = std::move(attempt);
  e.evidence = {std::move(line)};
  return e;
}

TEST(Classifier, MergesPerAttemptCountsPeersAndKeepsInformationalApart) {
  std::vector<ObservedEvent> events = {
      // one peer's IKE_SA_INIT refused three times (keyed by SPI), another's once
      ev(Observation::ike_sa_limit_hit, Side::responder, 30, "", "spi:a", "l3"),
      ev(Observation::ike_sa_limit_hit, Side::responder, 10, "", "spi:a", "l1"),
      ev(Observation::ike_sa_limit_hit, Side::responder, 20, "", "spi:a", "l2"),
      ev(Observation::ike_sa_limit_hit, Side::responder, 15, "", "spi:b", "m1"),
      // unkeyed: each its own attempt
      ev(Observation::half_open_limit, Side::responder, 5, "198.19.0.1", "", "h1"),
      ev(Observation::half_open_limit, Side::responder, 6, "198.19.0.1", "", "h2"),
      ev(Observation::half_open_limit, Side::responder, 7, "198.19.0.2", "", "h3"),
      ev(Observation::cookie_sent, Side::responder, 1, "198.19.0.3", "", "c1"),
      // initiator-side no response, same address as a responder record
      ev(Observation::no_response, Side::initiator, 40, "198.19.0.2", "uid:4", "g1"),
      // no rule for a delete of a CHILD_SA
      ev(Observation::delete_received, Side::responder, 50, "198.19.0.1", "", "d1"),
  };
  events.back().sa = SaKind::child;
  Classification c = Classifier().classify(events);

  ASSERT_EQ(c.codes.count("ERROR_IPSEC_IKE_MM_LIMIT"), 1u);
  const CodeCount& mm = c.codes.at("ERROR_IPSEC_IKE_MM_LIMIT");
  EXPECT_EQ(mm.attempts, 2u);
  EXPECT_FALSE(mm.peers.has_value()) << "no address: peers cannot be told apart";
  const CodeCount& q = c.codes.at("ERROR_IPSEC_IKE_QUEUE_DROP_MM");
  EXPECT_EQ(q.attempts, 3u);
  EXPECT_EQ(q.peers, 2u);
  EXPECT_EQ(c.codes.at("ERROR_IPSEC_IKE_DROP_NO_RESPONSE").peers, 1u);
  EXPECT_EQ(c.codes.count("ERROR_IPSEC_IKE_DOS_COOKIE_SENT"), 0u);
  EXPECT_EQ(c.informational_codes.at("ERROR_IPSEC_IKE_DOS_COOKIE_SENT").attempts, 1u);
  ASSERT_EQ(c.informational.size(), 1u);
  EXPECT_TRUE(c.informational[0].informational);
  ASSERT_EQ(c.unclassified.size(), 1u);
  EXPECT_EQ(c.unclassified[0].what, Observation::delete_received);

  // the merged record starts at the first occurrence with the evidence in time order
  const FailureRecord* merged = nullptr;
  for (const auto& r : c.failures)
    if (r.rule == "ikesa-limit" && r.occurrences == 3) merged = &r;
  ASSERT_NE(merged, nullptr);
  EXPECT_EQ(merged->t_ms, 10);
  EXPECT_EQ(merged->evidence, (std::vector<std::string>{"l1", "l2", "l3"}));
  EXPECT_EQ(merged->code.value, 13882u);
  EXPECT_EQ(merged->code.hex, "0x363A");
  EXPECT_TRUE(merged->exact);
  EXPECT_EQ(merged->side, Side::responder);
  // records come out in time order
  for (std::size_t i = 1; i < c.failures.size(); ++i)
    EXPECT_LE(c.failures[i - 1].t_ms, c.failures[i].t_ms);
}

TEST(Classifier, CountedEventsAndEvidenceCap) {
  ObservedEvent e = ev(Observation::xfrm_out_no_states, Side::responder, 0, "", "", "XfrmOutNoStates +250");
  e.sa = SaKind::child;
  e.count = 250;
  std::vector<ObservedEvent> events{e};
  for (int i = 0; i < 40; ++i)
    events.push_back(ev(Observation::no_response, Side::initiator, i, "198.19.0.9", "uid:1", "r" + std::to_string(i)));
  Classification c = Classifier().classify(events);
  EXPECT_EQ(c.codes.at("STATUS_IPSEC_QUEUE_OVERFLOW").attempts, 250u);
  const auto& rec = c.failures.back();
  EXPECT_EQ(rec.rule, "no-response");
  EXPECT_EQ(rec.occurrences, 40u);
  EXPECT_EQ(rec.evidence.size(), kMaxEvidencePerRecord);
}

std::vector<ObservedEvent> observe_fixture(const std::string& rel, Side side) {
  std::ifstream f(std::string(IST_FIXTURES_DIR) + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return charon::observe_charon_log(ss.str(), side, rel);
}

TEST(ClassifierFixtures, AttemptKeysCarryTheSource) {
  auto events = observe_fixture("wrong-psk/responder.log", Side::responder);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].attempt, "wrong-psk/responder.log#uid:1");
  EXPECT_EQ(events[0].address, "198.19.0.1");
  EXPECT_EQ(events[0].peer, "peer1");
  EXPECT_EQ(events[0].exchange, "IKE_AUTH");
  EXPECT_EQ(events[0].what, Observation::authentication_failed);
}

struct FixtureCase {
  const char* file;
  Side side;
  const char* code;
  uint64_t attempts;
  std::optional<uint64_t> peers;
  bool informational;
};

// Expected numbers follow from how each fixture was made (README) and grep counts.
const FixtureCase kFixtureCases[] = {
    {"ikesa-limit/responder.log", Side::responder, "ERROR_IPSEC_IKE_MM_LIMIT", 9, std::nullopt, false},
    {"ikesa-limit-level2/responder.log", Side::responder, "ERROR_IPSEC_IKE_MM_LIMIT", 3, std::nullopt, false},
    {"ikesa-limit/initiator.log", Side::initiator, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", 3, 3, false},
    {"half-open-limit/responder.log", Side::responder, "ERROR_IPSEC_IKE_QUEUE_DROP_MM", 13, 5, false},
    {"half-open-limit/initiator.log", Side::initiator, "ERROR_IPSEC_IKE_DROP_NO_RESPONSE", 5, 5, false},
    {"wrong-psk/responder.log", Side::responder, "ERROR_IPSEC_IKE_AUTH_FAIL", 2, 2, false},
    {"wrong-psk/initiator.log", Side::initiator, "ERROR_IPSEC_IKE_AUTH_FAIL", 2, 2, false},
    {"proposal-mismatch/responder.log", Side::responder, "ERROR_IPSEC_IKE_ATTRIB_FAIL", 3, 3, false},
    {"proposal-mismatch/initiator.log", Side::initiator, "ERROR_IPSEC_IKE_ATTRIB_FAIL", 3, 3, false},
    {"ts-mismatch/responder.log", Side::responder, "ERROR_IPSEC_IKE_NO_POLICY", 2, 2, false},
    {"ts-mismatch/initiator.log", Side::initiator, "ERROR_IPSEC_IKE_NO_POLICY", 2, 2, false},
    // one record per collision: peer3|7 and rw|5, rw|6 logged one collision twice within ms
    {"rekey-collision/initiator.log", Side::initiator, "ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", 5, 3, false},
    {"rekey-collision/responder.log", Side::responder, "ERROR_IPSEC_IKE_SIMULTANEOUS_REKEY", 4, 3, false},
    {"cookie/responder.log", Side::responder, "ERROR_IPSEC_IKE_DOS_COOKIE_SENT", 10, 10, true},
    // level 2 logs 'sending COOKIE notify to %H' too: still one record per COOKIE
    {"cookie-level2/responder.log", Side::responder, "ERROR_IPSEC_IKE_DOS_COOKIE_SENT", 10, 10, true},
    {"normal/responder.log", Side::responder, "ERROR_IPSEC_IKE_MM_EXPIRED", 3, 3, true},
};

TEST(ClassifierFixtures, RecordedLogsGiveTheirCodesAndCounts) {
  for (const auto& fc : kFixtureCases) {
    SCOPED_TRACE(fc.file);
    auto events = observe_fixture(fc.file, fc.side);
    Classification c = Classifier().classify(events);
    const auto& table = fc.informational ? c.informational_codes : c.codes;
    ASSERT_EQ(table.count(fc.code), 1u) << fc.code;
    EXPECT_EQ(table.at(fc.code).attempts, fc.attempts);
    EXPECT_EQ(table.at(fc.code).peers, fc.peers);
    // nothing else failed in these runs
    EXPECT_EQ(c.codes.size(), fc.informational ? 0u : 1u);
    EXPECT_TRUE(c.unclassified.empty());
    for (const auto& r : c.failures) {
      EXPECT_FALSE(r.evidence.empty());
      EXPECT_EQ(r.side, fc.side);
    }
  }
}

TEST(ClassifierFixtures, NormalRunHasNoFailures) {
  for (const char* f : {"normal/responder.log", "normal/initiator.log", "rekey/responder.log",
                        "rekey/initiator.log", "normal-level2/responder.log"}) {
    SCOPED_TRACE(f);
    Classification c = Classifier().classify(observe_fixture(f, Side::responder));
    EXPECT_TRUE(c.failures.empty());
    EXPECT_TRUE(c.unclassified.empty());
  }
}

}  // namespace
}  // namespace ist::taxonomy
