#include <gtest/gtest.h>

#include <fstream>

#include "xfrm/xfrm_stat.hpp"

namespace ist::xfrm {
namespace {

TEST(XfrmStat, ParsesTheKernelsLayout) {
  auto s = parse_xfrm_stat("XfrmInError             \t0\nXfrmOutNoStates         \t17\nXfrmAcquireError\t3\n");
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[1], (std::pair<std::string, uint64_t>{"XfrmOutNoStates", 17}));
}

TEST(XfrmStat, RejectsWhatIsNotNameValue) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (auto c : {Case{"", "empty"}, Case{"XfrmInError\n", "line 1"}, Case{"XfrmInError x1\n", "line 1"},
                 Case{"XfrmInError 1\nXfrmOutError -3\n", "line 2"}, Case{"XfrmInError 1 2\n", "line 1"},
                 Case{"\n\n", "empty"}, Case{"XfrmInError 99999999999999999999999\n", "line 1"}}) {
    auto s = parse_xfrm_stat(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_NE(s.error().describe().find(c.why), std::string::npos) << s.error().describe();
  }
}

TEST(XfrmStat, DeltasAreAfterMinusBefore) {
  XfrmStat before{{"XfrmOutNoStates", 5}, {"XfrmInError", 2}, {"XfrmInNoStates", 0}};
  XfrmStat after{{"XfrmOutNoStates", 9}, {"XfrmInError", 2}, {"XfrmInNoStates", 1}, {"XfrmNew", 4}};
  auto d = xfrm_stat_delta(before, after);
  EXPECT_EQ(d, (std::map<std::string, int64_t>{{"XfrmOutNoStates", 4}, {"XfrmInNoStates", 1}, {"XfrmNew", 4}}));
  auto all = xfrm_stat_delta(before, after, false);
  EXPECT_EQ(all.size(), 4u);
  EXPECT_EQ(all.at("XfrmInError"), 0);
  auto back = xfrm_stat_delta(after, before);
  EXPECT_EQ(back.at("XfrmOutNoStates"), -4);
}

TEST(XfrmStat, ReaderRereadsTheSameFile) {
  const std::string path = ::testing::TempDir() + "/xfrm_stat";
  { std::ofstream(path) << "XfrmInError 1\nXfrmOutNoStates 2\n"; }
  auto r = XfrmStatReader::open_path(path);
  ASSERT_TRUE(r.ok());
  auto a = r->read();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->at(1).second, 2u);
  { std::ofstream(path, std::ios::in | std::ios::out) << "XfrmInError 1\nXfrmOutNoStates 7\n"; }
  auto b = r->read();
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->at(1).second, 7u);
  EXPECT_FALSE(XfrmStatReader::open_path(path + ".missing").ok());
}

}  // namespace
}  // namespace ist::xfrm
