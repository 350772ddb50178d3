// What `ikestorm xfrm` prints (harness/xfrm/console.hpp): the text for people, the stable
// JSON lines and the raw hex lines, from samples and events made here.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include <nlohmann/json.hpp>

#include "xfrm/console.hpp"

namespace ist::xfrm {
namespace {

using namespace std::chrono_literals;

Sample sample_at(MonoTime t) {
  Sample s;
  s.t = t;
  s.counts.sas = 4;
  s.counts.policies.in = 2;
  s.counts.policies.out = 2;
  s.xfrm_stat = {{"XfrmInNoStates", 3}, {"XfrmOutNoStates", 0}};
  s.xfrm_stat_delta = {{"XfrmInNoStates", 2}};
  return s;
}

TEST(XfrmConsole, TextForPeople) {
  const MonoTime t0{};
  std::ostringstream out;
  ConsoleWriter w(out, ConsoleFormat::text, "ist-1a2b3c-sut", t0);
  ASSERT_TRUE(w.snapshot(sample_at(t0), nullptr, false).ok());
  EXPECT_EQ(out.str(),
            "namespace ist-1a2b3c-sut\n"
            "SAs        4\n"
            "policies   in 2  out 2  fwd 0  (socket: in 0 out 0 fwd 0)\n"
            "xfrm_stat\n"
            "  XfrmInNoStates           3\n"
            "  XfrmOutNoStates          0\n");
  out.str("");
  w.sample(sample_at(t0 + 1500ms));
  EXPECT_EQ(out.str(), "1.500s sample: 4 SAs, policies in 2 out 2 fwd 0, XfrmInNoStates +2\n");
  out.str("");
  w.event(Event{t0 + 2s, Message{0, 0, 0, Body{Flush{true, 0}}}});
  EXPECT_EQ(out.str(), "2.000s flush policies\n");
  out.str("");
  w.loss(7, t0 + 3s);
  EXPECT_EQ(out.str(), "notifications lost (kernel buffer overrun, 7 so far); resyncing\n");
  out.str("");
  w.end({}, t0 + 4s);
  w.datagram(std::vector<uint8_t>{1, 2});
  EXPECT_EQ(out.str(), "");  // no end line and no hex in text
}

TEST(XfrmConsole, JsonLines) {
  const MonoTime t0{};
  std::ostringstream out;
  ConsoleWriter w(out, ConsoleFormat::json, "", t0);
  ASSERT_TRUE(w.snapshot(sample_at(t0), nullptr, true).ok());
  w.sample(sample_at(t0 + 1s));
  w.loss(1, t0 + 1200ms);
  Monitor::Stats st;
  st.events = 5;
  w.end(st, t0 + 2s);
  std::istringstream lines(out.str());
  std::string line;
  std::vector<nlohmann::json> j;
  while (std::getline(lines, line)) j.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(j.size(), 4u);
  EXPECT_EQ(j[0]["kind"], "snapshot");
  EXPECT_EQ(j[0]["t_ms"], 0);  // watching: the stream starts at 0
  EXPECT_EQ(j[1]["kind"], "sample");
  EXPECT_EQ(j[1]["t_ms"], 1000);
  EXPECT_EQ(j[2], (nlohmann::json{{"t_ms", 1200}, {"kind", "loss"}, {"ns", ""}, {"losses", 1}}));
  EXPECT_EQ(j[3]["kind"], "end");
  EXPECT_EQ(j[3]["events"], 5);
}

TEST(XfrmConsole, RawIsHexOnly) {
  const MonoTime t0{};
  std::ostringstream out;
  ConsoleWriter w(out, ConsoleFormat::raw, "", t0);
  ASSERT_TRUE(w.snapshot(sample_at(t0), nullptr, true).ok());
  w.sample(sample_at(t0 + 1s));
  w.loss(1, t0 + 1s);
  w.datagram(std::vector<uint8_t>{0x00, 0xab, 0x10});
  w.end({}, t0 + 2s);
  EXPECT_EQ(out.str(), "00ab10\n");
}

}  // namespace
}  // namespace ist::xfrm
