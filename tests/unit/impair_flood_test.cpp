// FloodIo around a fake PacketIo that can send from any address: the first send starts the
// floods, they keep their rate, skip the peers' own addresses, stay in their prefix, and
// send real IKE_SA_INITs (half_open) or ones broken as asked (malformed).
#include <gtest/gtest.h>

#include <set>

#include "fleet/native/flood.hpp"
#include "impair_test_util.hpp"

namespace ist::native {
namespace {

using test::RecordingIo;

using namespace std::chrono_literals;

FloodOptions options(FloodSpec spec) {
  FloodOptions o;
  o.floods = {spec};
  o.sut = IpPort::of(test::kSutAddr, ike_port);
  o.peer_addresses = {IpPort::of(Bytes{198, 19, 112, 2}, 0)};  // a peer inside the prefix
  return o;
}

TEST(FloodIo, HalfOpenKeepsItsRateAndItsPrefix) {
  EventLoop loop;
  FloodSpec spec;
  spec.rate_per_s = 200;
  spec.duration = 300ms;
  spec.prefix = {198, 19, 112, 0};  // 6 usable, one a peer's
  spec.prefix_len = 29;
  auto inner = std::make_unique<RecordingIo>();
  RecordingIo* fake = inner.get();
  auto io = FloodIo::make(loop, std::move(inner), options(spec));
  ASSERT_TRUE(io.ok()) << io.error().describe();
  (void)loop.run_until([] { return false; }, loop.clock().now() + 100ms);
  EXPECT_TRUE(fake->sent.empty());  // nothing before the engine's first send
  const Bytes own = test::ike_header(ExchangeType::ike_sa_init, false, 0);
  (*io)->send(test::datagram(own, true));
  (void)loop.run_until([] { return false; }, loop.clock().now() + 600ms);
  ASSERT_GE(fake->sent.size(), 2u);
  EXPECT_EQ(fake->sent[0].payload, own);
  const size_t flood = fake->sent.size() - 1;
  EXPECT_GE(flood, 58u);  // 200/s for 300 ms, plus the first one at t = 0
  EXPECT_LE(flood, 62u);
  std::set<uint8_t> last_octets;
  for (size_t i = 1; i < fake->sent.size(); ++i) {
    const auto& [src, dst, msg] = fake->sent[i];
    ASSERT_EQ(src.len, 4);
    EXPECT_EQ(src.addr[0], 198);
    EXPECT_EQ(src.addr[2], 112);
    last_octets.insert(src.addr[3]);
    auto m = parse_message(msg);
    ASSERT_TRUE(m.ok()) << m.error().describe();
    EXPECT_EQ(m->header.exchange, ExchangeType::ike_sa_init);
    EXPECT_NE(m->find<KePayload>(PayloadType::ke), nullptr);
  }
  EXPECT_EQ(last_octets, (std::set<uint8_t>{1, 3, 4, 5, 6}));  // no network, broadcast or peer
  EXPECT_EQ((*io)->flood_stats()[0].sent, flood);
  EXPECT_NE((*io)->summary()[0].find("half_open 200/s for 300 ms from 198.19.112.0/29: sent"), std::string::npos);
}

TEST(FloodIo, WindowSpansTheFloodsThatStarted) {
  EventLoop loop;
  FloodSpec a, b;
  a.rate_per_s = b.rate_per_s = 10;
  a.duration = 100ms;
  a.start = 50ms;
  b.duration = 100ms;
  b.start = 120ms;
  FloodOptions o = options(a);
  o.floods.push_back(b);
  auto io = FloodIo::make(loop, std::make_unique<RecordingIo>(), o);
  ASSERT_TRUE(io.ok()) << io.error().describe();
  EXPECT_FALSE((*io)->window().has_value());  // nothing started yet
  const MonoTime t0 = loop.clock().now();
  (*io)->start();
  (void)loop.run_until([] { return false; }, t0 + 80ms);
  auto w = (*io)->window();
  ASSERT_TRUE(w.has_value());  // the first flood only, so far
  EXPECT_EQ(w->second - w->first, std::chrono::nanoseconds(100ms));
  (void)loop.run_until([] { return false; }, t0 + 300ms);
  w = (*io)->window();
  ASSERT_TRUE(w.has_value());
  // From the first's start (about 50 ms in) to the second's planned end (about 220 ms in).
  EXPECT_GE(w->first - t0, std::chrono::nanoseconds(50ms));
  EXPECT_LT(w->first - t0, std::chrono::nanoseconds(70ms));
  EXPECT_GE(w->second - t0, std::chrono::nanoseconds(220ms));
  EXPECT_LT(w->second - t0, std::chrono::nanoseconds(250ms));
}

TEST(FloodIo, MalformedSendsBrokenMessages) {
  EventLoop loop;
  FloodSpec spec;
  spec.kind = FloodSpec::Kind::malformed;
  spec.malform = MalformKind::bad_version;
  spec.rate_per_s = 50;
  spec.duration = 50ms;
  auto inner = std::make_unique<RecordingIo>();
  RecordingIo* fake = inner.get();
  auto io = FloodIo::make(loop, std::move(inner), options(spec));
  ASSERT_TRUE(io.ok());
  (*io)->start();
  (void)loop.run_until([] { return false; }, loop.clock().now() + 200ms);
  ASSERT_FALSE(fake->sent.empty());
  for (const auto& [src, dst, msg] : fake->sent) EXPECT_EQ(msg.at(17), 0x30);
}

TEST(FloodIo, RefusesSourcesOutsideTheHarnessRange) {
  FloodSpec spec;
  EventLoop loop;
  spec.prefix = {10, 0, 0, 0};
  EXPECT_FALSE(FloodIo::make(loop, std::make_unique<RecordingIo>(), options(spec)).ok());
}

}  // namespace
}  // namespace ist::native
