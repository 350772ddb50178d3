// peers.impair and peers.flood in scenario files: what they read as, and the messages for
// what is wrong (file:line:column, nearest key or value, native engine only).
#include <gtest/gtest.h>

#include "scenario_test_util.hpp"

namespace sc = ist::scenario;
using scenario_test::load_yaml;

namespace {

TEST(ImpairScenario, ReadsRulesAndFloods) {
  auto out = load_yaml(R"(peers:
  engine: native
  impair:
    - { exchange: IKE_AUTH, direction: in, action: drop, peers: 100% }
    - { exchange: CREATE_CHILD_SA, direction: in, message: response, action: delay, delay: 6s, peers: 20% }
    - { action: corrupt, peers: 5%, packets: 50% }
    - { action: duplicate, copies: 2, esp: true }
    - { action: malform, malform: bad_ke, direction: out, exchange: IKE_SA_INIT }
  flood:
    - { kind: half_open, rate: 500/s, duration: 5s, sources: 198.19.96.0/20, start: 1s }
    - { kind: malformed, malform: short_nonce, rate: 20/s, duration: 2s }
)");
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  const auto& p = out.loaded->points.at(0).scenario.peers;
  ASSERT_EQ(p.impair.size(), 5u);
  EXPECT_EQ(p.impair[0].action, sc::ImpairAction::drop);
  EXPECT_EQ(p.impair[0].exchange, sc::IkeExchange::ike_auth);
  EXPECT_EQ(p.impair[0].direction, sc::ImpairDirection::in);
  EXPECT_EQ(p.impair[0].peers, 1.0);
  EXPECT_EQ(p.impair[1].delay, std::chrono::seconds(6));
  EXPECT_EQ(p.impair[1].action, sc::ImpairAction::delay);
  EXPECT_EQ(p.impair[1].message, sc::ImpairMessage::response);
  EXPECT_DOUBLE_EQ(p.impair[1].peers, 0.2);
  EXPECT_EQ(p.impair[2].exchange, sc::IkeExchange::any);
  EXPECT_EQ(p.impair[2].direction, sc::ImpairDirection::both);
  EXPECT_DOUBLE_EQ(p.impair[2].packets, 0.5);
  EXPECT_TRUE(p.impair[3].esp);
  EXPECT_EQ(p.impair[3].copies, 2u);
  EXPECT_EQ(p.impair[4].action, sc::ImpairAction::malform);
  EXPECT_EQ(p.impair[4].malform, sc::MalformKind::bad_ke);
  ASSERT_EQ(p.flood.size(), 2u);
  EXPECT_EQ(p.flood[0].kind, sc::FloodKind::half_open);
  EXPECT_EQ(p.flood[0].rate_per_s, 500);
  EXPECT_EQ(p.flood[0].duration, std::chrono::seconds(5));
  EXPECT_EQ(p.flood[0].start, std::chrono::seconds(1));
  EXPECT_EQ(p.flood[0].sources, (sc::Ipv4Prefix{{198, 19, 96, 0}, 20}));
  EXPECT_EQ(p.flood[1].sources, (sc::Ipv4Prefix{{198, 19, 112, 0}, 20}));
  EXPECT_EQ(p.flood[1].kind, sc::FloodKind::malformed);
  EXPECT_EQ(p.flood[1].malform, sc::MalformKind::short_nonce);
}

TEST(ImpairScenario, ASingleMapIsAListOfOneAndSetWorks) {
  auto out = load_yaml("peers: { engine: native, impair: { action: drop } }\n",
                       {sc::Override{"peers.impair", "[{action: drop, exchange: IKE_SA_INIT}]", "--set peers.impair"}});
  ASSERT_TRUE(out.ok()) << out.diagnostics.str();
  ASSERT_EQ(out.loaded->points[0].scenario.peers.impair.size(), 1u);
  EXPECT_EQ(out.loaded->points[0].scenario.peers.impair[0].exchange, sc::IkeExchange::ike_sa_init);
}

TEST(ImpairScenario, ProblemsNameWhereAndWhat) {
  struct Case {
    const char* yaml;
    const char* message;  // the first problem must contain this
  };
  const Case cases[] = {
      {"peers:\n  impair: [{ action: drop }]\n", "test.yaml:2:11: peers.impair: needs peers.engine: native"},
      {"peers:\n  flood: [{ kind: half_open, rate: 5/s, duration: 1s }]\n", "peers.flood: needs peers.engine: native"},
      {"peers:\n  engine: native\n  impair: [{ action: dorp }]\n",
       "test.yaml:3:22: peers.impair[0].action: expected one of drop, delay, duplicate, reorder, corrupt, malform, got 'dorp': did you mean 'drop'?"},
      {"peers:\n  engine: native\n  impair: [{ action: drop, exchnage: IKE_AUTH }]\n",
       "test.yaml:3:28: unknown key 'exchnage' in peers.impair[0]; did you mean 'exchange'?"},
      {"peers:\n  engine: native\n  impair: [{ action: drop, exchange: IKE_AUHT }]\n",
       "peers.impair[0].exchange: expected one of IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, got 'IKE_AUHT': did you mean 'IKE_AUTH'?"},
      {"peers:\n  engine: native\n  impair: [{ exchange: IKE_AUTH }]\n", "peers.impair[0]: missing 'action'"},
      {"peers:\n  engine: native\n  impair: [{ action: delay }]\n", "peers.impair[0]: action delay needs 'delay'"},
      {"peers:\n  engine: native\n  impair: [{ action: drop, delay: 5s }]\n", "peers.impair[0].delay: only for action delay or reorder"},
      {"peers:\n  engine: native\n  impair: [{ action: drop, peers: 150% }]\n", "peers.impair[0].peers: expected a share from 0% to 100%, got '150%': out of range"},
      {"peers:\n  engine: native\n  impair: [{ action: duplicate, copies: 40 }]\n", "peers.impair[0].copies: expected a whole number from 1 to 16"},
      {"peers:\n  engine: native\n  impair: [{ action: malform, direction: in }]\n", "peers.impair[0]: malform rewrites the peers' own IKE messages"},
      {"peers:\n  engine: native\n  impair: [{ action: malform, direction: out, malform: bad_kee }]\n", "did you mean 'bad_ke'?"},
      {"peers:\n  engine: native\n  impair: [{ action: drop, esp: true, exchange: IKE_AUTH }]\n", "esp rules match ESP datagrams"},
      {"peers:\n  engine: native\n  impair: drop\n", "peers.impair: expected a list of impairments"},
      {"peers:\n  engine: native\n  flood: [{ kind: half_open, rate: 5/s }]\n", "peers.flood[0]: missing 'duration'"},
      {"peers:\n  engine: native\n  flood: [{ kind: halfopen, rate: 5/s, duration: 1s }]\n", "did you mean 'half_open'?"},
      {"peers:\n  engine: native\n  flood: [{ kind: half_open, rate: 5/s, duration: 1s, sources: 10.0.0.0/8 }]\n",
       "peers.flood[0].sources: expected an IPv4 prefix inside 198.19.0.0/16 like 198.19.112.0/20, got '10.0.0.0/8': spoofed sources stay inside the harness's own range"},
      {"peers:\n  engine: native\n  flood: [{ kind: half_open, rate: 5/s, duration: 1s, sources: 198.19.0.0/8 }]\n", "spoofed sources stay inside"},
      {"peers:\n  engine: native\n  flood: [{ kind: half_open, rate: 5/s, duration: 1s, sources: nonsense }]\n", "peers.flood[0].sources: expected an IPv4 prefix"},
      {"peers:\n  engine: native\n  flood: [{ kind: half_open, rate: 500000/s, duration: 1s }]\n", "a rate up to 100000/s"},
      {"peers:\n  engine: native\n  flood: [{ kind: half_open, rate: 5/s, duration: 1s, malform: bad_ke }]\n", "peers.flood[0].malform: only for kind malformed"},
  };
  for (const auto& c : cases) {
    auto out = load_yaml(c.yaml);
    ASSERT_FALSE(out.ok()) << c.yaml;
    EXPECT_NE(out.diagnostics.str().find(c.message), std::string::npos) << c.yaml << "\n" << out.diagnostics.str();
  }
}

}  // namespace
