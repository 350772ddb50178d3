#include <gtest/gtest.h>

#include "vici/message.hpp"

namespace ist::vici {
namespace {

TEST(ViciMessage, BuildsNestedSectionsInOrder) {
  Message m;
  m.set("version", "2");
  auto& c = m.section("conn-1");
  c.list("local_addrs", {"198.19.0.1"});
  c.section("children").section("net").set("start_action", "none");
  m.set("timeout", -1).set("mobike", false);

  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m.elements()[0].name, "version");
  EXPECT_EQ(m.elements()[1].name, "conn-1");
  EXPECT_EQ(*m.get("version"), "2");
  EXPECT_EQ(*m.get("timeout"), "-1");
  EXPECT_EQ(*m.get("mobike"), "no");
  const Message* conn = m.find_section("conn-1");
  ASSERT_NE(conn, nullptr);
  ASSERT_NE(conn->find_list("local_addrs"), nullptr);
  EXPECT_EQ(conn->find_list("local_addrs")->at(0), "198.19.0.1");
  EXPECT_EQ(*m.get_path("conn-1.children.net.start_action"), "none");
  EXPECT_FALSE(m.get_path("conn-1.children.nope.start_action"));
  EXPECT_FALSE(m.get("conn-1"));             // a section is not a value
  EXPECT_EQ(m.find_section("version"), nullptr);
}

TEST(ViciMessage, SetReplacesInPlaceAndKeepsPosition) {
  Message m;
  m.set("a", "1").set("b", "2").set("a", "3");
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.elements()[0].name, "a");
  EXPECT_EQ(*m.get("a"), "3");
  m.list("b", {"x", "y"});  // a value becomes a list
  ASSERT_EQ(m.size(), 2u);
  EXPECT_FALSE(m.get("b"));
  EXPECT_EQ(m.find_list("b")->size(), 2u);
  m.append("b", "z").append("c", "new");
  EXPECT_EQ(m.find_list("b")->back(), "z");
  EXPECT_EQ(m.find_list("c")->size(), 1u);
  EXPECT_TRUE(m.remove("a"));
  EXPECT_FALSE(m.remove("a"));
  EXPECT_EQ(m.section("s").section("t").set("k", "v").size(), 1u);
  EXPECT_EQ(&m.section("s"), m.find_section("s"));  // section() finds, does not duplicate
}

TEST(ViciMessage, ValuesAreBinarySafe) {
  Message m;
  const std::string blob("\0\xff\x01zero", 7);
  m.set("blob", blob);
  EXPECT_EQ(*m.get("blob"), blob);
  EXPECT_EQ(m.get("blob")->size(), 7u);
}

TEST(ViciMessage, CopiesAreDeep) {
  Message a;
  a.section("s").set("k", "1");
  Message b = a;
  b.section("s").set("k", "2");
  EXPECT_EQ(*a.get_path("s.k"), "1");
  EXPECT_EQ(*b.get_path("s.k"), "2");
  EXPECT_NE(a, b);
  b.section("s").set("k", "1");
  EXPECT_EQ(a, b);
}

TEST(ViciMessage, JsonKeepsOrderAndRoundTrips) {
  Message m;
  m.set("z", "last-named-first").section("a").list("l", {"1", "2"});
  m.set("bin", std::string("\xff\x00", 2));
  auto j = m.to_json();
  EXPECT_EQ(j.dump(), R"({"z":"last-named-first","a":{"l":["1","2"]},"bin":{"$hex":"ff00"}})");
  auto back = Message::from_json(j);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(*back, m);
}

TEST(ViciMessage, FromJsonConvertsScalarsAndRejectsBadShapes) {
  auto j = nlohmann::ordered_json::parse(R"({"n": 5, "f": true, "s": {"l": [1, "x"]}})");
  auto m = Message::from_json(j);
  ASSERT_TRUE(m);
  EXPECT_EQ(*m->get("n"), "5");
  EXPECT_EQ(*m->get("f"), "yes");
  EXPECT_EQ(m->find_section("s")->find_list("l")->at(0), "1");

  struct Case {
    const char* json;
    const char* error_part;
  } cases[] = {
      {R"([1])", "JSON object"},
      {R"({"a": null})", "a is null"},
      {R"({"a": [[1]]})", "a[0]"},
      {R"({"a": [{"b": 1}]})", "a[0]"},
  };
  // "$hex" with something that is not hex is just a section with a key of that name.
  auto sec = Message::from_json(nlohmann::ordered_json::parse(R"({"a": {"$hex": "zz"}})"));
  ASSERT_TRUE(sec);
  EXPECT_EQ(*sec->get_path("a.$hex"), "zz");
  for (const auto& c : cases) {
    auto r = Message::from_json(nlohmann::ordered_json::parse(c.json));
    ASSERT_FALSE(r) << c.json;
    EXPECT_NE(r.error().describe().find(c.error_part), std::string::npos)
        << c.json << " -> " << r.error().describe();
  }
}

TEST(ViciMessage, Utf8Validation) {
  struct Case {
    std::string s;
    bool valid;
  } cases[] = {
      {"plain", true},          {"gr\xc3\xbc\xc3\x9f", true}, {"\xe2\x82\xac", true},
      {"\xf0\x9f\x98\x80", true}, {"\xff", false},              {"\xc3", false},
      {"\xc0\x80", false},      {"\xed\xa0\x80", false},      {"\xf4\x90\x80\x80", false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_valid_utf8(c.s), c.valid) << c.s;
}

}  // namespace
}  // namespace ist::vici
