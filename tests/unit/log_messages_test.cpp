// The charon message table (harness/charon/log_messages.cpp): every row recognises its own
// example, recorded examples are really in the recorded logs, and every event kind has a row.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "charon/log_messages.hpp"
#include "log_fixture.hpp"

namespace ist::charon {
namespace {

TEST(LogMessageTable, EveryRowRecognisesItsExampleFirst) {
  for (const MessageRule& r : message_rules()) {
    if (r.example.empty()) {
      EXPECT_EQ(r.kind, LogEventKind::other) << r.prefix << ": a row that gives a kind needs an example";
      continue;
    }
    SCOPED_TRACE(std::string(r.example));
    EXPECT_FALSE(r.format.empty());
    EXPECT_FALSE(r.source.empty());
    // As charon writes it: thread, group, SA prefix, message.
    std::string line = "Nov 23 18:48:06.727 13[IKE] <rw|1> " + std::string(r.example);
    LogEvent e = parse_log_line(line);
    EXPECT_EQ(e.kind, r.kind) << to_string(e.kind);
    LogEvent again;
    EXPECT_EQ(classify_message_text(r.example, again), &r) << "an earlier row takes this example";
  }
}

TEST(LogMessageTable, RecordedExamplesAreInTheRecordedLogs) {
  int checked = 0;
  for (const MessageRule& r : message_rules()) {
    if (r.recorded.empty() || r.recorded == "malformed") continue;  // malformed: see impair_taxonomy_test
    SCOPED_TRACE(std::string(r.recorded) + ": " + std::string(r.example));
    std::string logs = read_fixture(std::string(r.recorded) + "/responder.log") +
                       read_fixture(std::string(r.recorded) + "/initiator.log");
    ASSERT_FALSE(logs.empty()) << "no such case under tests/fixtures/logs";
    // The example must be a whole message: after the prefix and up to the line end.
    EXPECT_NE(logs.find(" " + std::string(r.example) + "\n"), std::string::npos);
    ++checked;
  }
  EXPECT_GE(checked, 25);
}

TEST(LogMessageTable, EveryKindHasARow) {
  std::set<LogEventKind> kinds;
  for (const MessageRule& r : message_rules()) kinds.insert(r.kind);
  for (int i = 1; i < kLogEventKindCount; ++i)
    EXPECT_TRUE(kinds.count(static_cast<LogEventKind>(i))) << to_string(static_cast<LogEventKind>(i));
}

TEST(LogMessageTable, RowsRefuseWhatTheyDoNotMean) {
  LogEvent e;
  // "received %N notify error" needs one upper-case word as the notify's name
  EXPECT_EQ(classify_message_text("received some notify error", e), nullptr);
  EXPECT_EQ(e.kind, LogEventKind::other);
  EXPECT_EQ(e.role, LogRole::unknown);
  // a COOKIE response has message ID 0; another ID is an ordinary message line
  LogEvent m;
  classify_message_text("generating IKE_SA_INIT response 1 [ N(COOKIE) ]", m);
  EXPECT_EQ(m.kind, LogEventKind::message_generated);
  EXPECT_EQ(m.number, 1);
  // an admission drop for a reason not in the table is no drop we know, and no IKE_SA limit
  LogEvent d;
  const MessageRule* r =
      classify_message_text("ignoring IKE_SA setup from 198.19.0.1, reason, hitting IKE_SA limit (3)", d);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(d.kind, LogEventKind::other);
  EXPECT_TRUE(d.address.empty());
  // a payload verification line needs the payload's name
  LogEvent p;
  EXPECT_EQ(classify_message_text(" payload verification failed", p), nullptr);
}

}  // namespace
}  // namespace ist::charon
