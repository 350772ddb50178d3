// The validator's typed peers.impair[] / peers.flood[] mapped to the native engine's rules
// (harness/run/native_impair.hpp): every value has its engine value, nothing can fail.
#include <gtest/gtest.h>

#include "run/native_impair.hpp"
#include "scenario_test_util.hpp"

namespace sc = ist::scenario;
namespace nv = ist::native;
using ist::run::native_flood_spec;
using ist::run::native_impair_rule;

namespace {

TEST(NativeImpairRules, EveryScenarioValueHasItsEngineValue) {
  const std::pair<sc::ImpairAction, nv::ImpairAction> actions[] = {
      {sc::ImpairAction::drop, nv::ImpairAction::drop},         {sc::ImpairAction::delay, nv::ImpairAction::delay},
      {sc::ImpairAction::duplicate, nv::ImpairAction::duplicate}, {sc::ImpairAction::reorder, nv::ImpairAction::reorder},
      {sc::ImpairAction::corrupt, nv::ImpairAction::corrupt},   {sc::ImpairAction::malform, nv::ImpairAction::malform}};
  for (auto [from, to] : actions) {
    sc::Impairment m;
    m.action = from;
    EXPECT_EQ(native_impair_rule(m).action, to) << nv::to_string(to);
  }
  const std::pair<sc::IkeExchange, std::optional<nv::ExchangeType>> exchanges[] = {
      {sc::IkeExchange::any, std::nullopt},
      {sc::IkeExchange::ike_sa_init, nv::ExchangeType::ike_sa_init},
      {sc::IkeExchange::ike_auth, nv::ExchangeType::ike_auth},
      {sc::IkeExchange::create_child_sa, nv::ExchangeType::create_child_sa},
      {sc::IkeExchange::informational, nv::ExchangeType::informational}};
  for (auto [from, to] : exchanges) {
    sc::Impairment m;
    m.exchange = from;
    EXPECT_EQ(native_impair_rule(m).exchange, to);
  }
  const std::pair<sc::ImpairDirection, nv::ImpairDirection> directions[] = {
      {sc::ImpairDirection::in, nv::ImpairDirection::in},
      {sc::ImpairDirection::out, nv::ImpairDirection::out},
      {sc::ImpairDirection::both, nv::ImpairDirection::both}};
  for (auto [from, to] : directions) {
    sc::Impairment m;
    m.direction = from;
    EXPECT_EQ(native_impair_rule(m).direction, to);
  }
  const std::pair<sc::ImpairMessage, nv::ImpairMessage> messages[] = {
      {sc::ImpairMessage::any, nv::ImpairMessage::any},
      {sc::ImpairMessage::request, nv::ImpairMessage::request},
      {sc::ImpairMessage::response, nv::ImpairMessage::response}};
  for (auto [from, to] : messages) {
    sc::Impairment m;
    m.message = from;
    EXPECT_EQ(native_impair_rule(m).message, to);
  }
  const std::pair<sc::MalformKind, nv::MalformKind> kinds[] = {
      {sc::MalformKind::unknown_critical, nv::MalformKind::unknown_critical},
      {sc::MalformKind::bad_version, nv::MalformKind::bad_version},
      {sc::MalformKind::short_nonce, nv::MalformKind::short_nonce},
      {sc::MalformKind::bad_ke, nv::MalformKind::bad_ke},
      {sc::MalformKind::bad_length, nv::MalformKind::bad_length}};
  for (auto [from, to] : kinds) {
    sc::Impairment m;
    m.malform = from;
    EXPECT_EQ(native_impair_rule(m).malform, to) << nv::to_string(to);
    sc::Flood f;
    f.malform = from;
    EXPECT_EQ(native_flood_spec(f).malform, to) << nv::to_string(to);
  }
}

// From a scenario file to the rule the engine runs: the words the user wrote come back in
// the engine's own description of the rule.
TEST(NativeImpairRules, AScenarioFileBecomesTheRulesItSays) {
  auto out = scenario_test::load_yaml(R"(peers:
  engine: native
  impair:
    - { exchange: IKE_AUTH, direction: in, message: response, action: drop, peers: 10% }
    - { action: delay, delay: 6s, esp: true, packets: 50% }
    - { action: duplicate, copies: 3, exchange: CREATE_CHILD_SA, direction: out }
    - { action: malform, malform: bad_length, direction: out, exchange: IKE_SA_INIT }
  flood:
    - { kind: half_open, rate: 500/s, duration: 5s, sources: 198.19.96.0/21, start: 1s }
    - { kind: malformed, malform: short_nonce, rate: 20/s, duration: 2s }
)");
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const auto& p = out.loaded->points.at(0).scenario.peers;
  ASSERT_EQ(p.impair.size(), 4u);
  EXPECT_EQ(native_impair_rule(p.impair[0]).describe(), "drop IKE_AUTH responses in, 10% of peers");
  const auto delay = native_impair_rule(p.impair[1]);
  EXPECT_TRUE(delay.esp);
  EXPECT_EQ(delay.delay, std::chrono::seconds(6));
  EXPECT_DOUBLE_EQ(delay.packets, 0.5);
  const auto dup = native_impair_rule(p.impair[2]);
  EXPECT_EQ(dup.copies, 3u);
  EXPECT_EQ(dup.exchange, nv::ExchangeType::create_child_sa);
  EXPECT_EQ(dup.direction, nv::ImpairDirection::out);
  const auto malform = native_impair_rule(p.impair[3]);
  EXPECT_EQ(malform.action, nv::ImpairAction::malform);
  EXPECT_EQ(malform.malform, nv::MalformKind::bad_length);
  ASSERT_EQ(p.flood.size(), 2u);
  EXPECT_EQ(native_flood_spec(p.flood[0]).describe(), "half_open 500/s for 5000 ms from 198.19.96.0/21");
  EXPECT_EQ(native_flood_spec(p.flood[0]).start, std::chrono::seconds(1));
  EXPECT_EQ(native_flood_spec(p.flood[1]).describe(), "malformed short_nonce 20/s for 2000 ms from 198.19.112.0/20");
}

}  // namespace
