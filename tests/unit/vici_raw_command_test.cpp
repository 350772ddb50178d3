// `ikestorm vici`'s request building and output (harness/vici/raw_command.hpp).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vici/raw_command.hpp"
#include "vici/text.hpp"

namespace ist::vici {
namespace {

TEST(ViciRawCommand, ListCommandsStreamTheirEvent) {
  EXPECT_EQ(streamed_event("list-sas"), "list-sa");
  EXPECT_EQ(streamed_event("list-authorities"), "list-authority");
  EXPECT_FALSE(streamed_event("stats").has_value());
  EXPECT_FALSE(streamed_event("list-sa").has_value());
}

TEST(ViciRawCommand, RequestFromWordsAndJson) {
  Message m;
  std::vector<std::string> words{"ike=conn-1", "owners[]=gw", "owners[]=peer", "conn-1.children.net.mode=tunnel"};
  ASSERT_TRUE(apply_assignments(m, words).ok());
  EXPECT_EQ(m.get("ike"), "conn-1");
  ASSERT_NE(m.find_list("owners"), nullptr);
  EXPECT_EQ(*m.find_list("owners"), (std::vector<std::string>{"gw", "peer"}));

  std::vector<std::string> bad{"a=1", "a.b=2"};
  Message n;
  EXPECT_FALSE(apply_assignments(n, bad).ok());

  auto j = message_from_json_text(R"({"ike": "conn-1", "owners": ["gw"]})", "req.json");
  ASSERT_TRUE(j.ok()) << j.error().describe();
  EXPECT_EQ(j->get("ike"), "conn-1");
  auto broken = message_from_json_text("{", "req.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().message, "req.json is not valid JSON");
}

TEST(ViciRawCommand, AnswersAsTextAndJson) {
  Message item;
  item.set("name", "conn-1");
  RawAnswer streamed;
  streamed.streamed = true;
  streamed.event = "list-conn";
  streamed.items = {item, item};
  // a streamed command's empty response is not printed as text
  EXPECT_EQ(format_answer(streamed, false), "--- list-conn\n" + format_text(item, 1) + "--- list-conn\n" +
                                                format_text(item, 1));
  auto j = nlohmann::json::parse(format_answer(streamed, true));
  EXPECT_EQ(j["items"].size(), 2u);
  EXPECT_EQ(j["items"][0]["name"], "conn-1");
  EXPECT_TRUE(j.contains("response"));

  RawAnswer plain;
  plain.response.set("success", "no").set("errmsg", "unknown");
  EXPECT_TRUE(plain.said_no());
  EXPECT_EQ(format_answer(plain, false), format_text(plain.response));
  EXPECT_EQ(nlohmann::json::parse(format_answer(plain, true))["errmsg"], "unknown");

  auto line = format_event("ike-updown", item, true);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1);  // one line per event
  EXPECT_EQ(nlohmann::json::parse(line), (nlohmann::json{{"event", "ike-updown"}, {"data", {{"name", "conn-1"}}}}));
}

}  // namespace
}  // namespace ist::vici
