// LineFeed: the vm backend's view of its guest kernel, from `ikestorm xfrm --json --watch` lines.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "xfrm/json_lines.hpp"
#include "xfrm/line_feed.hpp"
#include "xfrm/run_observer.hpp"

namespace ist::xfrm {
namespace {

Address v4(const char* s) {
  Address a;
  a.family = AF_INET;
  inet_pton(AF_INET, s, a.bytes.data());
  return a;
}

Selector flow() {
  Selector s;
  s.src = v4("198.18.255.1");
  s.dst = v4("198.19.0.7");
  s.prefix_src = s.prefix_dst = 32;
  s.proto = IPPROTO_UDP;
  s.sport = 5001;
  s.dport = 40000;
  return s;
}

SaInfo sa() {
  SaInfo s;
  s.src = v4("198.18.0.1");
  s.dst = v4("198.18.2.9");
  s.spi = 0xc1a2b3d4;
  s.proto = IPPROTO_ESP;
  s.mode = XFRM_MODE_TUNNEL;
  s.reqid = 7;
  s.sel = flow();
  return s;
}

Body acquire() {
  Acquire a;
  a.src = v4("198.18.0.1");
  a.dst = v4("198.18.2.9");
  a.proto = IPPROTO_ESP;
  a.flow = flow();
  a.policy.dir = Direction::out;
  a.policy.index = 9;
  a.policy.priority = 375423;
  a.policy.sel = flow();
  a.seq = 3;
  return a;
}

// event_json -> line -> body_from_event_line gives the same description and addresses
// (what the run observer's joins and timelines use).
TEST(XfrmLineFeed, EventLinesRoundTrip) {
  Expire soft{sa(), false}, hard{sa(), true};
  SaChange del{SaChange::Kind::deleted, sa()};
  const Body cases[] = {acquire(), soft, hard, del};
  const MonoTime t0{};
  for (const auto& b : cases) {
    Message m;
    m.body = b;
    auto line = event_json(Event{t0 + std::chrono::milliseconds(5), m}, t0, "").dump();
    auto back = body_from_event_line(nlohmann::json::parse(line));
    ASSERT_TRUE(back.has_value()) << line;
    EXPECT_EQ(event_kind(*back), event_kind(b)) << line;
    EXPECT_EQ(describe(*back), describe(b)) << line;
    EXPECT_EQ(event_addresses(*back), event_addresses(b)) << line;
  }
}

TEST(XfrmLineFeed, OtherKindsAreNotEvents) {
  for (const char* line : {R"({"kind":"new_sa","sa":{}})", R"({"kind":"sample","sa":2})", R"([1,2])",
                           R"({"kind":"new_policy"})"})
    EXPECT_FALSE(body_from_event_line(nlohmann::json::parse(line)).has_value()) << line;
}

struct Pair {
  int fds[2];
  Pair() { socketpair(AF_UNIX, SOCK_STREAM, 0, fds); }
  void send(const std::string& s) const { ASSERT_EQ(::write(fds[1], s.data(), s.size()), ssize_t(s.size())); }
};

TEST(XfrmLineFeed, SamplesSumAndCountsFollowTheNewest) {
  EventLoop loop;
  Pair p;
  std::vector<Body> events;
  auto feed = LineFeed::start(loop, unique_fd(p.fds[0]), [&](MonoTime, Body b) { events.push_back(std::move(b)); });
  ASSERT_TRUE(feed) << feed.error().describe();
  LineFeed& f = **feed;
  EXPECT_FALSE(f.take().has_value());  // nothing yet
  p.send(R"({"kind":"snapshot","t_ms":0,"ns":"","sa":0,"policies":{"in":0,"out":0,"fwd":0},)"
         R"("xfrm_stat":{"XfrmOutNoStates":12}})" "\n");
  f.drain();
  auto t = f.take();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->counts.sas, 0u);
  EXPECT_TRUE(t->xfrm_stat_delta.empty());  // the snapshot's values are absolute, not deltas
  Message m;
  m.body = acquire();
  p.send(R"({"kind":"sample","t_ms":1000,"ns":"","sa":2,"policies":{"in":1,"out":1,"fwd":1},)"
         R"("xfrm_stat":{"XfrmOutNoStates":3}})" "\n" + event_json(Event{MonoTime{}, m}, MonoTime{}, "").dump() +
         "\nnot json\n" R"({"kind":"sample","t_ms":2000,"ns":"","sa":4,"policies":{"in":2,"out":2,"fwd":2},)"
         R"("xfrm_stat":{"XfrmOutNoStates":2,"XfrmInNoStates":1}})" "\n" R"({"kind":"sample","sa":)");
  f.drain();
  t = f.take();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->samples, 2u);
  EXPECT_EQ(t->counts.sas, 4u);
  EXPECT_EQ(t->counts.policies.out, 2u);
  EXPECT_EQ(t->xfrm_stat_delta["XfrmOutNoStates"], 5);
  EXPECT_EQ(t->xfrm_stat_delta["XfrmInNoStates"], 1);
  EXPECT_EQ(t->acquires, 1u);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(f.malformed(), 1u);
  // The half line completes later; counts stay between samples, deltas do not.
  p.send("6}\n");
  f.drain();
  t = f.take();
  EXPECT_EQ(t->counts.sas, 6u);
  EXPECT_TRUE(t->xfrm_stat_delta.empty());
  t = f.take();
  EXPECT_EQ(t->counts.sas, 6u);
  EXPECT_EQ(t->samples, 0u);
  // An over-long line is dropped whole, the next one is read.
  std::thread writer([&p] { p.send(std::string(LineFeed::kMaxLine + 10, 'x') + "\n" + R"({"kind":"sample","sa":8})" "\n"); });
  for (int i = 0; i < 2000 && f.lines() < 7; ++i) {
    f.drain();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  writer.join();
  EXPECT_EQ(f.malformed(), 2u);
  EXPECT_EQ(f.take()->counts.sas, 8u);
  EXPECT_FALSE(f.closed());
  ::close(p.fds[1]);
  f.drain();
  EXPECT_TRUE(f.closed());
}

TEST(XfrmRunObserver, LinesGiveEverySecondASampleAndAClosedStreamIsReported) {
  EventLoop loop;
  Pair p;
  RunObserver obs;
  ASSERT_TRUE(obs.add_lines(loop, "sut", unique_fd(p.fds[0])).ok());
  EXPECT_TRUE(obs.sample(MonoTime{}).empty());  // no line yet: no sample, not a zero
  p.send(R"({"kind":"snapshot","t_ms":0,"ns":"","sa":2,"policies":{"in":1,"out":1,"fwd":1}})" "\n"
         R"({"kind":"sample","t_ms":500,"ns":"","sa":4,"policies":{"in":2,"out":2,"fwd":2},)"
         R"("xfrm_stat":{"XfrmInNoStates":5}})" "\n");
  auto first = obs.sample(MonoTime{});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].role, "sut");
  EXPECT_EQ(first[0].counts.sas, 4u);
  EXPECT_EQ(first[0].counts.policies.out, 2u);
  EXPECT_EQ(first[0].xfrm_stat_delta["XfrmInNoStates"], 5);
  EXPECT_TRUE(obs.feed_problems().empty());
  // The watcher dies: later seconds keep its last counts, and the run says so.
  p.send("{\"kind\":\n");
  ::close(p.fds[1]);
  auto after = obs.sample(MonoTime{});
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].counts.sas, 4u);
  EXPECT_TRUE(after[0].xfrm_stat_delta.empty());
  obs.stop();
  auto problems = obs.feed_problems();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("closed its stream while the run observed it (after 3 line(s))"), std::string::npos)
      << problems[0];
  EXPECT_NE(problems[1].find("1 malformed line(s)"), std::string::npos) << problems[1];
}

}  // namespace
}  // namespace ist::xfrm
