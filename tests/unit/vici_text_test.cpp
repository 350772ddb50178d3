#include <gtest/gtest.h>

#include "vici/text.hpp"

namespace ist::vici {
namespace {

TEST(ViciText, AssignmentsBuildSectionsAndLists) {
  Message m;
  for (const char* a : {"ike=conn-1", "child=net", "timeout=-1", "conn-1.children.net.mode=tunnel",
                        "owners[]=198.19.0.1", "owners[]=gw", "conn-1.local_addrs[]=198.18.0.1",
                        "empty=", "url=a=b"})
    ASSERT_TRUE(apply_assignment(m, a)) << a;
  EXPECT_EQ(m.to_json().dump(),
            R"({"ike":"conn-1","child":"net","timeout":"-1","conn-1":{"children":{"net":{"mode":"tunnel"}},)"
            R"("local_addrs":["198.18.0.1"]},"owners":["198.19.0.1","gw"],"empty":"","url":"a=b"})");
}

TEST(ViciText, BadAssignmentsAreErrors) {
  struct Case {
    std::vector<std::string> assignments;
    std::string error_part;
  } cases[] = {
      {{"novalue"}, "is not key=value"},
      {{"=x"}, "is not key=value"},
      {{"a..b=x"}, "bad key"},
      {{"a.=x"}, "bad key"},
      {{"a[0]=x"}, "bad key"},
      {{"a=1", "a.b=2"}, "'a' in 'a.b=2' is already a value, not a section"},
      {{"a[]=1", "a=2"}, "'a' is already a list, not a value"},
      {{"a.b=1", "a[]=2"}, "'a' is already a section, not a list"},
  };
  for (const auto& c : cases) {
    Message m;
    Status last = ok();
    for (const auto& a : c.assignments) last = apply_assignment(m, a);
    ASSERT_FALSE(last) << c.assignments.back();
    EXPECT_NE(last.error().message.find(c.error_part), std::string::npos) << last.error().message;
  }
}

TEST(ViciText, FormatsYamlLike) {
  Message m;
  m.set("daemon", "charon").set("spaced", " x").set("bin", std::string("\xff\x01", 2));
  m.section("uptime").set("running", "5 seconds");
  m.list("plugins", {"random", "vici"});
  m.list("none", std::vector<std::string>{});
  m.section("empty");
  EXPECT_EQ(format_text(m),
            "daemon: charon\n"
            "spaced: \" x\"\n"
            "bin: !hex ff01\n"
            "uptime:\n"
            "  running: 5 seconds\n"
            "plugins:\n"
            "  - random\n"
            "  - vici\n"
            "none: []\n"
            "empty: {}\n");
}

}  // namespace
}  // namespace ist::vici
