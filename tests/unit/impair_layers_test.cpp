// ImpairLayers: the decorator chain run_point plugs into the native engine
// (engine -> FloodIo -> ImpairedIo -> packet layer), with peers found by their IKE address.
#include <gtest/gtest.h>

#include "fleet/native/impair_layers.hpp"
#include "impair_test_util.hpp"

namespace ist::native {
namespace {

using test::RecordingIo;

TEST(ImpairLayers, ChainsFloodOverImpairmentsAndFindsPeersByAddress) {
  EventLoop loop;
  ImpairLayerOptions o;
  ImpairRule drop_out;
  drop_out.direction = ImpairDirection::out;
  drop_out.peers = 0.5;
  o.rules = {drop_out};
  FloodSpec flood;
  flood.rate_per_s = 10;
  flood.duration = std::chrono::milliseconds(1);
  o.floods = {flood};
  o.peer_addresses = {IpPort::of(Bytes{198, 19, 0, 1}, 0), IpPort::of(Bytes{198, 19, 0, 2}, 0)};
  o.sut = IpPort::of(test::kSutAddr, ike_port);
  auto layers = ImpairLayers::make(loop, o);
  ASSERT_TRUE(layers.ok()) << layers.error().describe();
  auto inner = std::make_unique<RecordingIo>();
  RecordingIo* wire = inner.get();
  auto io = (*layers)->wrap(std::move(inner));
  ASSERT_NE(io, nullptr);
  EXPECT_EQ(io->name(), "fake+impair+flood");
  const Bytes msg = test::ike_header(ExchangeType::informational, false, 2);
  for (const auto& peer : o.peer_addresses)
    io->send(test::datagram(msg, true, ike_port, Bytes(peer.addr.begin(), peer.addr.begin() + 4)));
  ASSERT_EQ(wire->sent.size(), 1u);  // one of the two peers is chosen: its datagram dropped
  (void)loop.run_until([] { return false; }, loop.clock().now() + std::chrono::milliseconds(100));
  ASSERT_GE(wire->sent.size(), 2u);  // then the flood's first IKE_SA_INIT, from its prefix
  EXPECT_EQ(wire->sent[1].src.addr[2], 112);
  auto summary = (*layers)->summary();
  ASSERT_EQ(summary.size(), 2u);
  EXPECT_NE(summary[0].find("impairment 1: drop IKE out, 50% of peers: chosen for 1 peers, applied to 1 datagrams"),
            std::string::npos)
      << summary[0];
  EXPECT_NE(summary[1].find("flood 1: half_open"), std::string::npos) << summary[1];
}

TEST(ImpairLayers, RefusesBadRulesBeforeAnythingStarts) {
  EventLoop loop;
  ImpairLayerOptions o;
  ImpairRule bad;
  bad.action = ImpairAction::delay;  // without a delay
  o.rules = {bad};
  o.peer_addresses = {IpPort::of(Bytes{198, 19, 0, 1}, 0)};
  EXPECT_FALSE(ImpairLayers::make(loop, o).ok());
}

}  // namespace
}  // namespace ist::native
