// Which datagrams a rule sees (inspect_datagram, rule_matches) and which peers it applies
// to (ImpairPlan): exact shares, the same peers for the same seed, first matching rule wins.
#include <gtest/gtest.h>

#include "fleet/native/impair.hpp"
#include "impair_test_util.hpp"

namespace ist::native {
namespace {

using test::datagram;
using test::ike_header;
using K = DatagramInfo::Kind;

TEST(ImpairInspect, ReadsTheCleartextHeaders) {
  struct Case {
    const char* name;
    Bytes payload;
    uint16_t port;
    K kind;
    uint8_t exchange;
    bool response;
    uint32_t mid;
    size_t offset;
  };
  Bytes esp{0, 0, 0x12, 0x34, 0, 0, 0, 1, 0xaa, 0xbb};
  const Case cases[] = {
      {"IKE on 500", ike_header(ExchangeType::ike_sa_init, false, 0), ike_port, K::ike, 34, false, 0, 0},
      {"IKE_AUTH answer on 4500", ike_header(ExchangeType::ike_auth, true, 1, true), natt_port, K::ike, 35, true, 1, 4},
      {"CREATE_CHILD_SA request", ike_header(ExchangeType::create_child_sa, false, 7), ike_port, K::ike, 36, false, 7, 0},
      {"keepalive", Bytes{0xff}, natt_port, K::keepalive, 0, false, 0, 0},
      {"ESP on 4500", esp, natt_port, K::esp, 0, false, 0, 0},
      {"short IKE", Bytes(20, 0), ike_port, K::other, 0, false, 0, 0},
      {"marker then short IKE", Bytes(12, 0), natt_port, K::other, 0, false, 0, 0},
      {"short ESP", Bytes{1, 2, 3}, natt_port, K::other, 0, false, 0, 0},
  };
  for (const auto& c : cases) {
    auto info = inspect_datagram(datagram(c.payload, true, c.port));
    EXPECT_EQ(info.kind, c.kind) << c.name;
    if (c.kind != K::ike) continue;
    EXPECT_EQ(info.exchange, c.exchange) << c.name;
    EXPECT_EQ(info.response, c.response) << c.name;
    EXPECT_EQ(info.message_id, c.mid) << c.name;
    EXPECT_EQ(info.ike_offset, c.offset) << c.name;
  }
}

TEST(ImpairMatch, ExchangeDirectionMessageAndEsp) {
  DatagramInfo auth_answer{K::ike, 0, 35, true, 1};
  DatagramInfo auth_request{K::ike, 0, 35, false, 1};
  DatagramInfo init_request{K::ike, 0, 34, false, 0};
  DatagramInfo esp{K::esp};
  auto rule = [](std::optional<ExchangeType> ex, ImpairDirection d, ImpairMessage m, bool is_esp = false) {
    ImpairRule r;
    r.exchange = ex;
    r.direction = d;
    r.message = m;
    r.esp = is_esp;
    return r;
  };
  const auto in = ImpairDirection::in, out = ImpairDirection::out, both = ImpairDirection::both;
  const auto any = ImpairMessage::any, resp = ImpairMessage::response, req = ImpairMessage::request;
  struct Case {
    const char* name;
    ImpairRule r;
    ImpairDirection dir;
    DatagramInfo info;
    bool match;
  };
  const Case cases[] = {
      {"IKE_AUTH in matches the answer", rule(ExchangeType::ike_auth, in, any), in, auth_answer, true},
      {"IKE_AUTH in ignores our request", rule(ExchangeType::ike_auth, in, any), out, auth_request, false},
      {"IKE_AUTH ignores IKE_SA_INIT", rule(ExchangeType::ike_auth, both, any), out, init_request, false},
      {"responses only", rule(ExchangeType::ike_auth, both, resp), out, auth_request, false},
      {"requests only", rule(ExchangeType::ike_auth, both, req), out, auth_request, true},
      {"any exchange", rule(std::nullopt, both, any), in, init_request, true},
      {"IKE rule ignores ESP", rule(std::nullopt, both, any), in, esp, false},
      {"ESP rule takes ESP", rule(std::nullopt, both, any, true), in, esp, true},
      {"ESP rule ignores IKE", rule(std::nullopt, both, any, true), in, auth_answer, false},
      {"keepalives never match", rule(std::nullopt, both, any), in, DatagramInfo{K::keepalive}, false},
  };
  for (const auto& c : cases) EXPECT_EQ(rule_matches(c.r, c.dir, c.info), c.match) << c.name;
}

TEST(ImpairPlan, ChoosesExactlyTheShareOfPeersAndTheSameOnesForASeed) {
  struct Case {
    double share;
    uint32_t peers;
    uint32_t expected;
  };
  for (const auto& c : {Case{0.1, 100, 10}, Case{0.05, 1000, 50}, Case{1.0, 37, 37}, Case{0.0, 50, 0},
                        Case{0.5, 3, 2}, Case{0.2, 1, 0}}) {
    ImpairRule r;
    r.peers = c.share;
    auto a = ImpairPlan::make({r}, c.peers, 42);
    auto b = ImpairPlan::make({r}, c.peers, 42);
    ASSERT_TRUE(a.ok() && b.ok());
    uint32_t n = 0;
    for (uint32_t p = 0; p < c.peers; ++p) {
      n += a->selected(0, p);
      EXPECT_EQ(a->selected(0, p), b->selected(0, p));
    }
    EXPECT_EQ(n, c.expected) << c.share << " of " << c.peers;
    EXPECT_EQ(a->selected_count(0), c.expected);
  }
}

TEST(ImpairPlan, RulesTakeDisjointPeersUntilTheyWrapAndSeedsDiffer) {
  ImpairRule quarter;
  quarter.peers = 0.25;
  ImpairRule sixty;
  sixty.peers = 0.6;
  auto a = ImpairPlan::make({quarter, quarter, quarter, quarter}, 1000, 1);
  auto wrap = ImpairPlan::make({sixty, sixty}, 1000, 1);
  auto b = ImpairPlan::make({quarter}, 1000, 2);
  ASSERT_TRUE(a.ok() && wrap.ok() && b.ok());
  int covered = 0, overlap = 0, both_wrap = 0, other_seed = 0;
  for (uint32_t p = 0; p < 1000; ++p) {
    const int n = a->selected(0, p) + a->selected(1, p) + a->selected(2, p) + a->selected(3, p);
    covered += n == 1;
    overlap += n > 1;
    both_wrap += wrap->selected(0, p) && wrap->selected(1, p);
    other_seed += a->selected(0, p) && b->selected(0, p);
  }
  EXPECT_EQ(covered, 1000);  // four quarters: every peer exactly once
  EXPECT_EQ(overlap, 0);
  EXPECT_EQ(both_wrap, 200);  // 60% + 60%: the second rule wraps onto 20% of the first's
  // Independent 25% choices of 1000 overlap in about 62 peers; identical ones in 250.
  EXPECT_GT(other_seed, 20);
  EXPECT_LT(other_seed, 120);
}

TEST(ImpairPlan, PacketShareAndFirstMatchingRule) {
  ImpairRule half;
  half.action = ImpairAction::drop;
  half.packets = 0.5;
  ImpairRule all;
  all.action = ImpairAction::corrupt;
  auto plan = ImpairPlan::make({half, all}, 1, 7);
  ASSERT_TRUE(plan.ok());
  DatagramInfo info{K::ike, 0, 35, true, 1};
  int first = 0, second = 0;
  for (int i = 0; i < 10000; ++i) {
    auto d = plan->decide(0, ImpairDirection::in, info);
    ASSERT_TRUE(d.has_value());  // the second rule takes what the first lets through
    (*d == 0 ? first : second)++;
  }
  EXPECT_NEAR(first, 5000, 300);
  EXPECT_EQ(first + second, 10000);
}

TEST(ImpairPlan, RefusesWhatCannotWork) {
  auto make = [](auto tweak) {
    ImpairRule r;
    tweak(r);
    return ImpairPlan::make({r}, 10, 1);
  };
  EXPECT_FALSE(make([](ImpairRule& r) { r.peers = 1.5; }).ok());
  EXPECT_FALSE(make([](ImpairRule& r) { r.packets = -0.1; }).ok());
  EXPECT_FALSE(make([](ImpairRule& r) { r.action = ImpairAction::duplicate; r.copies = 0; }).ok());
  EXPECT_FALSE(make([](ImpairRule& r) { r.action = ImpairAction::delay; }).ok());
  EXPECT_FALSE(make([](ImpairRule& r) { r.action = ImpairAction::malform; r.direction = ImpairDirection::in; }).ok());
  EXPECT_TRUE(make([](ImpairRule& r) { r.action = ImpairAction::malform; r.direction = ImpairDirection::out; }).ok());
}

TEST(ImpairRule, DescribesItself) {
  ImpairRule r;
  r.action = ImpairAction::drop;
  r.exchange = ExchangeType::ike_auth;
  r.direction = ImpairDirection::in;
  r.message = ImpairMessage::response;
  r.peers = 0.1;
  EXPECT_EQ(r.describe(), "drop IKE_AUTH responses in, 10% of peers");
  EXPECT_STREQ(exchange_name(ExchangeType::create_child_sa), "CREATE_CHILD_SA");
}

}  // namespace
}  // namespace ist::native
