// The XFRM observer against this kernel (XFRM_USER, no ESP) in a private namespace
// ist-<runid>-xfrmobs: policy counts by direction, an ACQUIRE for a UDP packet that matches
// an out policy with no state (its selector), the XfrmOutNoStates delta, SPD notifications,
// and a monitor that overflows (ENOBUFS) counting the loss and resyncing from counts.
#include <gtest/gtest.h>
#include <linux/xfrm.h>

#include <fstream>

#include "common/event_loop.hpp"
#include "netns_support.hpp"
#include "xfrm/monitor.hpp"
#include "xfrm/sampler.hpp"

namespace ist::xfrm {
namespace {

using namespace std::chrono_literals;
using netns::testing::ip_output;

class XfrmObserverTest : public netns::testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFailure()) return;
    auto ns = netns::Namespace::create(state(), "xfrmobs");
    ASSERT_TRUE(ns.ok()) << ns.error().describe();
    ns_ = std::move(*ns);
    // Traffic to an address on a veth (not on lo: local routes skip the output policy).
    ip_output({"link", "set", "lo", "up"}, ns_.name());
    ip_output({"link", "add", "v0", "type", "veth", "peer", "name", "v1"}, ns_.name());
    ip_output({"link", "set", "v0", "up"}, ns_.name());
    ip_output({"link", "set", "v1", "up"}, ns_.name());
    ip_output({"addr", "add", "198.18.254.1/24", "dev", "v0"}, ns_.name());
    in_ = [this](const std::function<Status()>& fn) { return ns_.run_in(fn); };
  }
  void TearDown() override {
    if (ns_.valid()) {
      EXPECT_TRUE(ns_.destroy().ok());
    }
    NetnsTest::TearDown();
  }
  void add_policy(const std::string& dir, const std::string& src, const std::string& dst) {
    ip_output({"xfrm", "policy", "add", "src", src + "/32", "dst", dst + "/32", "dir", dir, "tmpl", "src", "198.18.254.1",
               "dst", "198.18.254.9", "proto", "esp", "mode", "tunnel"},
              ns_.name());
  }
  netns::Namespace ns_;
  NetnsRunner in_;
};

TEST_F(XfrmObserverTest, PolicyCountsByDirection) {
  auto sampler = Sampler::open(in_);
  ASSERT_TRUE(sampler.ok()) << sampler.error().describe();
  auto s0 = sampler->sample(SteadyClock::instance().now());
  ASSERT_TRUE(s0.ok()) << s0.error().describe();
  EXPECT_EQ(s0->counts.sas, 0u);
  EXPECT_EQ(s0->counts.policies.out, 0u);

  struct Step {
    const char* dir;
    uint32_t in, out, fwd;
  };
  int n = 0;
  for (auto step : {Step{"out", 0, 1, 0}, Step{"out", 0, 2, 0}, Step{"in", 1, 2, 0}, Step{"fwd", 1, 2, 1}}) {
    add_policy(step.dir, "198.18.254." + std::to_string(10 + n), "198.18.254." + std::to_string(100 + n));
    ++n;
    auto s = sampler->sample(SteadyClock::instance().now());
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->counts.policies.in, step.in) << "after " << n;
    EXPECT_EQ(s->counts.policies.out, step.out) << "after " << n;
    EXPECT_EQ(s->counts.policies.fwd, step.fwd) << "after " << n;
  }
  auto dump = sampler->socket().dump_policies();
  ASSERT_TRUE(dump.ok()) << dump.error().describe();
  EXPECT_EQ(dump->size(), 4u);

  // The same namespace by name, as `ikestorm xfrm --netns` joins it.
  auto by_name = Sampler::open(named_netns_runner(ns_.name()));
  ASSERT_TRUE(by_name.ok()) << by_name.error().describe();
  auto s = by_name->sample(SteadyClock::instance().now());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->counts.policies.out, 2u);
  auto missing = Sampler::open(named_netns_runner("ist-000000-nosuchns"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().errno_value, ENOENT);
}

TEST_F(XfrmObserverTest, AcquireForAPacketWithoutStateAndOutNoStatesDelta) {
  auto sampler = Sampler::open(in_);
  ASSERT_TRUE(sampler.ok()) << sampler.error().describe();
  EventLoop loop;
  std::vector<Event> events;
  Monitor::Callbacks cb;
  cb.on_event = [&](const Event& e) { events.push_back(e); };
  auto mon = Monitor::start(loop, in_, cb);
  ASSERT_TRUE(mon.ok()) << mon.error().describe();

  add_policy("out", "198.18.254.1", "198.18.254.9");
  auto sock = netns::testing::udp_socket(ns_, *netns::IpAddress::parse("198.18.254.1"), 0);
  ASSERT_TRUE(sock.valid());
  const uint16_t sport = netns::testing::local_port(sock.get());
  // The kernel drops the packet (no state yet): the send itself may report EAGAIN.
  (void)netns::testing::send_udp(sock.get(), *netns::IpAddress::parse("198.18.254.9"), 5000, "x");

  auto has_acquire = [&] {
    for (const auto& e : events)
      if (std::holds_alternative<Acquire>(e.msg.body)) return true;
    return false;
  };
  auto done = loop.run_until(has_acquire, loop.clock().now() + 3s);
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE(*done) << "no ACQUIRE within 3 s";

  ASSERT_GE(events.size(), 2u);
  auto* added = std::get_if<PolicyChange>(&events[0].msg.body);
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->kind, PolicyChange::Kind::added);
  const Acquire* acq = nullptr;
  for (const auto& e : events)
    if (auto* a = std::get_if<Acquire>(&e.msg.body)) acq = a;
  EXPECT_EQ(acq->src.str(), "198.18.254.1");
  EXPECT_EQ(acq->dst.str(), "198.18.254.9");
  EXPECT_EQ(acq->flow.str(), "198.18.254.1/32 -> 198.18.254.9/32 udp " + std::to_string(sport) + "->5000");
  EXPECT_EQ(acq->policy.dir, Direction::out);
  EXPECT_EQ(acq->policy.sel.str(), "198.18.254.1/32 -> 198.18.254.9/32");

  auto s = sampler->sample(loop.clock().now());
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->xfrm_stat_delta, (std::map<std::string, int64_t>{{"XfrmOutNoStates", 1}}));
  EXPECT_EQ(s->counts.sas, 1u);  // the ACQUIRE's larval state
  auto again = sampler->sample(loop.clock().now());
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->xfrm_stat_delta.empty());
  EXPECT_EQ((*mon)->stats().losses, 0u);
  EXPECT_EQ((*mon)->stats().malformed, 0u);
}

TEST_F(XfrmObserverTest, OverflowIsCountedAsLossAndCountsResync) {
  EventLoop loop;
  uint64_t events = 0, losses_seen = 0;
  Monitor::Callbacks cb;
  cb.on_event = [&](const Event&) { ++events; };
  cb.on_loss = [&](uint64_t total) { losses_seen = total; };
  // The smallest receive buffer the kernel allows: a burst of notifications cannot fit.
  auto mon = Monitor::start(loop, in_, cb, 1);
  ASSERT_TRUE(mon.ok()) << mon.error().describe();
  constexpr int kPolicies = 300;
  // One `ip -batch` so the loop does not drain in between.
  std::string batch;
  for (int i = 0; i < kPolicies; ++i)
    batch += "xfrm policy add src 198.18.200." + std::to_string(i % 250) + "/32 dst 198.18.201." +
             std::to_string(i / 250) + "/32 dir out\n";
  const std::string path = ::testing::TempDir() + "/xfrm-batch-" + ns_.name();
  { std::ofstream(path) << batch; }
  ip_output({"-batch", path}, ns_.name());
  (void)loop.run_until([] { return false; }, loop.clock().now() + 300ms);
  EXPECT_GE((*mon)->stats().losses, 1u);
  EXPECT_EQ(losses_seen, (*mon)->stats().losses);
  EXPECT_LT(events, static_cast<uint64_t>(kPolicies));
  // Counts come from the kernel, not from the events: they are right after a loss.
  auto sampler = Sampler::open(in_);
  ASSERT_TRUE(sampler.ok());
  auto s = sampler->sample(loop.clock().now());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->counts.policies.out, static_cast<uint32_t>(kPolicies));
  // The monitor still works after the overrun.
  const uint64_t before = events;
  add_policy("in", "198.18.202.1", "198.18.202.2");
  (void)loop.run_until([&] { return events > before; }, loop.clock().now() + 2s);
  EXPECT_GT(events, before);
}

}  // namespace
}  // namespace ist::xfrm
