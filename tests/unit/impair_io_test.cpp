// ImpairedIo around a fake PacketIo on a real EventLoop: what reaches the wire and the
// engine for each action, for selected and unselected peers.
#include <gtest/gtest.h>

#include "fleet/native/flood_malformed.hpp"
#include "fleet/native/impaired_io.hpp"
#include "impair_test_util.hpp"

namespace ist::native {
namespace {

using test::RecordingIo;

using namespace std::chrono_literals;
using test::datagram;
using test::ike_header;

const Bytes kOtherPeer{198, 19, 0, 2};

struct Fixture {
  EventLoop loop;
  RecordingIo* fake = nullptr;
  std::unique_ptr<ImpairedIo> io;
  std::vector<Bytes> delivered;

  explicit Fixture(std::vector<ImpairRule> rules, double share = 1.0) {
    for (auto& r : rules) r.peers = share;
    auto inner = std::make_unique<RecordingIo>();
    fake = inner.get();
    // Two peers: 198.19.0.1 is peer 0, 198.19.0.2 peer 1.
    auto plan = ImpairPlan::make(std::move(rules), 2, 5);
    EXPECT_TRUE(plan.ok());
    io = std::make_unique<ImpairedIo>(loop, std::move(inner), std::move(*plan), [](const IpPort& a) -> std::optional<uint32_t> {
      if (a.same_address(IpPort::of(test::kPeerAddr, 0))) return 0;
      if (a.same_address(IpPort::of(kOtherPeer, 0))) return 1;
      return std::nullopt;
    });
    io->set_receiver([this](std::span<const PacketDatagram> batch) {
      for (const auto& d : batch) delivered.emplace_back(d.payload.begin(), d.payload.end());
    });
  }
  void run_for(std::chrono::milliseconds d) {
    auto until = loop.clock().now() + d;
    (void)loop.run_until([] { return false; }, until);
  }
};

ImpairRule rule(ImpairAction a, std::optional<ExchangeType> ex = std::nullopt,
                ImpairDirection dir = ImpairDirection::both) {
  ImpairRule r;
  r.action = a;
  r.exchange = ex;
  r.direction = dir;
  return r;
}

TEST(ImpairedIo, DropsTheResponderIkeAuthAnswerOnly) {
  Fixture f({rule(ImpairAction::drop, ExchangeType::ike_auth, ImpairDirection::in)});
  const Bytes init_answer = ike_header(ExchangeType::ike_sa_init, true, 0);
  const Bytes auth_answer = ike_header(ExchangeType::ike_auth, true, 1, true);
  const Bytes auth_request = ike_header(ExchangeType::ike_auth, false, 1, true);
  f.fake->inject({datagram(init_answer, false), datagram(auth_answer, false, natt_port)});
  f.io->send(datagram(auth_request, true, natt_port));
  ASSERT_EQ(f.delivered.size(), 1u);
  EXPECT_EQ(f.delivered[0], init_answer);
  ASSERT_EQ(f.fake->sent.size(), 1u);  // our own IKE_AUTH request is not touched
  EXPECT_EQ(f.fake->sent[0].payload, auth_request);
  EXPECT_EQ(f.io->rule_stats()[0].datagrams, 1u);
  EXPECT_EQ(f.io->name(), "fake+impair");
}

TEST(ImpairedIo, LeavesUnselectedPeersAndForeignAddressesAlone) {
  Fixture f({rule(ImpairAction::drop)}, 0.5);  // exactly one of the two peers
  const uint32_t chosen = f.io->plan().selected(0, 0) ? 0 : 1;
  const Bytes chosen_addr = chosen == 0 ? test::kPeerAddr : kOtherPeer;
  const Bytes spared_addr = chosen == 0 ? kOtherPeer : test::kPeerAddr;
  const Bytes msg = ike_header(ExchangeType::informational, false, 3);
  f.io->send(datagram(msg, true, ike_port, chosen_addr));
  f.io->send(datagram(msg, true, ike_port, spared_addr));
  f.io->send(datagram(msg, true, ike_port, Bytes{198, 19, 9, 9}));
  EXPECT_EQ(f.fake->sent.size(), 2u);
}

TEST(ImpairedIo, DelayHoldsThenSends) {
  auto r = rule(ImpairAction::delay, ExchangeType::create_child_sa, ImpairDirection::in);
  r.delay = 150ms;
  Fixture f({r});
  const Bytes answer = ike_header(ExchangeType::create_child_sa, true, 5);
  const auto t0 = f.loop.clock().now();
  f.fake->inject({datagram(answer, false)});
  EXPECT_TRUE(f.delivered.empty());
  auto until = t0 + 2s;
  (void)f.loop.run_until([&] { return !f.delivered.empty(); }, until);
  ASSERT_EQ(f.delivered.size(), 1u);
  EXPECT_EQ(f.delivered[0], answer);
  EXPECT_GE(f.loop.clock().now() - t0, 150ms);
}

TEST(ImpairedIo, DelayedSendsGoOutLater) {
  auto r = rule(ImpairAction::delay, std::nullopt, ImpairDirection::out);
  r.delay = 50ms;
  Fixture f({r});
  f.io->send(datagram(ike_header(ExchangeType::ike_sa_init, false, 0), true));
  EXPECT_TRUE(f.fake->sent.empty());
  f.run_for(200ms);
  EXPECT_EQ(f.fake->sent.size(), 1u);
}

TEST(ImpairedIo, DuplicatesCorruptsAndMalforms) {
  {
    auto r = rule(ImpairAction::duplicate);
    r.copies = 2;
    Fixture f({r});
    f.io->send(datagram(ike_header(ExchangeType::ike_sa_init, false, 0), true));
    f.fake->inject({datagram(ike_header(ExchangeType::ike_sa_init, true, 0), false)});
    EXPECT_EQ(f.fake->sent.size(), 3u);
    EXPECT_EQ(f.delivered.size(), 3u);
  }
  {
    Fixture f({rule(ImpairAction::corrupt)});
    const Bytes init = test::real_ike_sa_init();
    f.io->send(datagram(init, true));
    ASSERT_EQ(f.fake->sent.size(), 1u);
    const Bytes& c = f.fake->sent[0].payload;
    ASSERT_EQ(c.size(), init.size());
    int diff_bits = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      diff_bits += __builtin_popcount(c[i] ^ init[i]);
      if (i < 28) {
        EXPECT_EQ(c[i], init[i]) << "the IKE header stays intact";
      }
    }
    EXPECT_EQ(diff_bits, 1);
  }
  {
    auto r = rule(ImpairAction::malform, ExchangeType::ike_sa_init, ImpairDirection::out);
    r.malform = MalformKind::short_nonce;
    Fixture f({r});
    const Bytes init = test::real_ike_sa_init();
    Bytes on_4500{0, 0, 0, 0};
    put_bytes(on_4500, init);
    f.io->send(datagram(on_4500, true, natt_port));
    ASSERT_EQ(f.fake->sent.size(), 1u);
    Bytes expected{0, 0, 0, 0};
    put_bytes(expected, *malform_ike(init, MalformKind::short_nonce));
    EXPECT_EQ(f.fake->sent[0].payload, expected);
    // Nothing to malform in an IKE_SA_INIT answer header: sent as it was, counted.
    f.io->send(datagram(ike_header(ExchangeType::ike_sa_init, false, 0), true));
    EXPECT_EQ(f.io->rule_stats()[0].not_applied, 1u);
    EXPECT_EQ(f.fake->sent.size(), 2u);
  }
}

TEST(ImpairedIo, ReorderLetsTheNextDatagramOvertake) {
  auto r = rule(ImpairAction::reorder, ExchangeType::ike_sa_init, ImpairDirection::out);
  Fixture f({r});
  const Bytes first = ike_header(ExchangeType::ike_sa_init, false, 0);
  const Bytes second = ike_header(ExchangeType::informational, false, 1);
  f.io->send(datagram(first, true));
  EXPECT_TRUE(f.fake->sent.empty());
  f.io->send(datagram(second, true));
  ASSERT_EQ(f.fake->sent.size(), 2u);
  EXPECT_EQ(f.fake->sent[0].payload, second);
  EXPECT_EQ(f.fake->sent[1].payload, first);
}

TEST(ImpairedIo, ReorderReleasesAfterTheHoldWhenNothingFollows) {
  auto r = rule(ImpairAction::reorder, std::nullopt, ImpairDirection::in);
  r.delay = 50ms;
  Fixture f({r});
  f.fake->inject({datagram(ike_header(ExchangeType::ike_sa_init, true, 0), false)});
  EXPECT_TRUE(f.delivered.empty());
  f.run_for(200ms);
  EXPECT_EQ(f.delivered.size(), 1u);
}

TEST(ImpairedIo, CloseDropsWhatIsHeld) {
  auto r = rule(ImpairAction::delay);
  r.delay = 50ms;
  Fixture f({r});
  f.io->send(datagram(ike_header(ExchangeType::ike_sa_init, false, 0), true));
  f.io->close();
  EXPECT_TRUE(f.fake->closed);
  f.run_for(150ms);
  EXPECT_TRUE(f.fake->sent.empty());
  EXPECT_EQ(f.loop.pending_timers(), 0u);
}

}  // namespace
}  // namespace ist::native
