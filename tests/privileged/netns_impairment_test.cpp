#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "netns/topology.hpp"
#include "netns_support.hpp"

namespace ist::netns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using testing::NetnsTest;

struct Received {
  std::size_t packets = 0;
  std::size_t bytes = 0;
  Clock::time_point first, last;
};

// Counts datagrams on `fd` until it has been quiet for `idle` after `sender_done`.
Received receive_until_quiet(int fd, const std::atomic<bool>& sender_done, std::chrono::milliseconds idle) {
  Received r;
  auto quiet_since = Clock::now();
  for (;;) {
    auto d = testing::recv_udp(fd, 20ms);
    if (d) {
      auto now = Clock::now();
      if (r.packets == 0) r.first = now;
      r.last = now;
      ++r.packets;
      r.bytes += d->payload.size();
      quiet_since = now;
    } else if (sender_done && Clock::now() - quiet_since > idle) {
      return r;
    }
  }
}

struct Flow {
  unique_fd server, client;
  std::uint16_t port = 0;
};

Flow peer_to_sut_flow(const Topology& topo, std::size_t peer) {
  Flow f;
  f.server = testing::udp_socket(topo.sut_ns(), topo.sut_ike_address(), 0);
  f.client = testing::udp_socket(topo.peers_ns(), topo.peer_ike_address(peer), 0);
  if (f.server) {
    int size = 16 << 20;
    ::setsockopt(f.server.get(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size);
    f.port = testing::local_port(f.server.get());
  }
  return f;
}

// Sends `count` datagrams of `size` bytes, `per_ms` per millisecond (paced, so that the
// receiver never overflows and only the impairment drops).
void send_paced(const Topology& topo, const Flow& f, std::size_t count, std::size_t size, std::size_t per_ms) {
  const std::string payload(size, 'x');
  auto next = Clock::now();
  for (std::size_t i = 0; i < count; ++i) {
    if (i % per_ms == 0) {
      next += 1ms;
      std::this_thread::sleep_until(next);
    }
    testing::send_udp(f.client.get(), topo.sut_ike_address(), f.port, payload);
  }
}

// Acceptance: a tbf rate is measured within 10% of the configured rate.
TEST_F(NetnsTest, TbfRateIsMeasuredWithinTenPercent) {
  constexpr std::uint64_t kRate = 20'000'000;  // bit/s
  constexpr std::size_t kPayload = 1200;
  constexpr std::size_t kWire = kPayload + 8 + 20 + 14;  // UDP, IPv4, Ethernet: what tbf counts
  TopologySpec spec;
  spec.peer_count = 4;
  spec.link.rate_bits_per_s = kRate;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  Flow f = peer_to_sut_flow(*topo, 3);
  ASSERT_TRUE(f.server && f.client);

  // Offer twice the rate, 1.2 s worth of it at the configured rate: tbf holds the sender
  // back (or drops the excess) and the receiver sees the configured rate.
  const std::size_t per_ms = 2 * kRate / 8 / kWire / 1000 + 1;
  const std::size_t count = static_cast<std::size_t>(1.2 * kRate / 8 / kWire);
  std::atomic<bool> done{false};
  Received r;
  std::thread rx([&] { r = receive_until_quiet(f.server.get(), done, 300ms); });
  send_paced(*topo, f, count, kPayload, per_ms);
  done = true;
  rx.join();

  ASSERT_GT(r.packets, 100u);
  const double seconds = std::chrono::duration<double>(r.last - r.first).count();
  const double measured = static_cast<double>((r.packets - 1) * kWire * 8) / seconds;
  std::printf("tbf: configured %llu bit/s, measured %.0f bit/s (%zu packets in %.3f s)\n",
              static_cast<unsigned long long>(kRate), measured, r.packets, seconds);
  RecordProperty("tbf_measured_bps", std::to_string(measured));
  EXPECT_NEAR(measured, static_cast<double>(kRate), 0.10 * kRate);

  // Removing the rate lifts the limit: the same offer now all arrives.
  ASSERT_TRUE(topo->set_link(LinkImpairment{}).ok());
  std::atomic<bool> done2{false};
  Received free;
  std::thread rx2([&] { free = receive_until_quiet(f.server.get(), done2, 300ms); });
  send_paced(*topo, f, per_ms * 300, kPayload, per_ms);
  done2 = true;
  rx2.join();
  EXPECT_EQ(free.packets, per_ms * 300);
}

// Acceptance: 10,000 packets at 10% loss lose between 8% and 12%.
TEST_F(NetnsTest, RandomLossOfTenPercentLosesEightToTwelve) {
  TopologySpec spec;
  spec.peer_count = 4;
  spec.link.loss_percent = 10;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  Flow f = peer_to_sut_flow(*topo, 0);
  ASSERT_TRUE(f.server && f.client);
  constexpr std::size_t kCount = 10000;
  std::atomic<bool> done{false};
  Received r;
  std::thread rx([&] { r = receive_until_quiet(f.server.get(), done, 300ms); });
  send_paced(*topo, f, kCount, 64, 20);
  done = true;
  rx.join();
  const double lost = 100.0 * static_cast<double>(kCount - r.packets) / kCount;
  std::printf("nft random loss: configured 10%%, lost %.2f%% of %zu\n", lost, kCount);
  RecordProperty("loss_percent", std::to_string(lost));
  EXPECT_GE(lost, 8.0);
  EXPECT_LE(lost, 12.0);
}

TEST_F(NetnsTest, EveryNthLossDropsOneInN) {
  TopologySpec spec;
  spec.peer_count = 4;
  auto topo = Topology::build(state(), spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  LinkImpairment nth;
  nth.drop_every_nth = 10;
  ASSERT_TRUE(topo->set_link(nth).ok());  // applied to a running topology
  Flow f = peer_to_sut_flow(*topo, 1);
  ASSERT_TRUE(f.server && f.client);
  constexpr std::size_t kCount = 2000;
  std::atomic<bool> done{false};
  Received r;
  std::thread rx([&] { r = receive_until_quiet(f.server.get(), done, 300ms); });
  send_paced(*topo, f, kCount, 64, 20);
  done = true;
  rx.join();
  // Exactly 200, give or take the odd neighbour-discovery packet that also counts.
  EXPECT_NEAR(static_cast<double>(kCount - r.packets), 200.0, 3.0);
}

}  // namespace
}  // namespace ist::netns
