// Offline classification of charon logs (harness/charon/log_classify.hpp, what `ikestorm
// classify` calls): side detection, refusing what is not a charon log, the report document.
#include <gtest/gtest.h>

#include <string>

#include "charon/log_classify.hpp"
#include "log_fixture.hpp"

namespace ist::charon {
namespace {

namespace tx = ist::taxonomy;

TEST(LogClassify, TellsTheSidesApartAndClassifiesBothTogether) {
  std::vector<tx::ObservedEvent> events;
  auto sut = observe_log_text(read_fixture("ikesa-limit/responder.log"), "sut.log", std::nullopt, events);
  ASSERT_TRUE(sut.ok()) << sut.error().describe();
  EXPECT_EQ(sut->side, tx::Side::responder);
  EXPECT_TRUE(sut->side_detected);
  EXPECT_EQ(sut->lines, 125u);
  auto peer = observe_log_text(read_fixture("ikesa-limit/initiator.log"), "peer.log", std::nullopt, events);
  ASSERT_TRUE(peer.ok()) << peer.error().describe();
  EXPECT_EQ(peer->side, tx::Side::initiator);
  for (const auto& e : events)
    if (!e.attempt.empty()) {
      EXPECT_TRUE(e.attempt.rfind("sut.log#", 0) == 0 || e.attempt.rfind("peer.log#", 0) == 0) << e.attempt;
    }

  auto c = classify_observations({*sut, *peer}, events);
  auto doc = log_classification_json(c);
  ASSERT_TRUE(doc["codes"].contains("ERROR_IPSEC_IKE_MM_LIMIT")) << doc["codes"].dump();
  EXPECT_EQ(doc["codes"]["ERROR_IPSEC_IKE_MM_LIMIT"]["attempts"], 9);   // no address at level 1
  EXPECT_TRUE(doc["codes"]["ERROR_IPSEC_IKE_MM_LIMIT"]["peers"].is_null());
  ASSERT_TRUE(doc["codes"].contains("ERROR_IPSEC_IKE_DROP_NO_RESPONSE"));
  EXPECT_EQ(doc["sources"].size(), 2u);
  EXPECT_EQ(doc["sources"][1]["side"], "initiator");
  EXPECT_TRUE(doc["attribution"].contains("ikesa-limit"));
  for (const auto& f : doc["failures"]) EXPECT_GE(f["t_ms"].get<int64_t>(), 0);

  std::string table = log_classification_table(c);
  EXPECT_NE(table.find("sut.log: "), std::string::npos) << table;
  EXPECT_NE(table.find("ERROR_IPSEC_IKE_MM_LIMIT"), std::string::npos) << table;
  EXPECT_NE(table.find("what the log can attribute:"), std::string::npos) << table;
}

TEST(LogClassify, ForcedSideAndATruncatedLastLine) {
  std::vector<tx::ObservedEvent> events;
  std::string text = read_fixture("wrong-psk/responder.log") + "Nov 23 18:48:34.771 16[IKE] <rw|9> tried 1 sha";
  auto src = observe_log_text(text, "r.log", tx::Side::initiator, events);
  ASSERT_TRUE(src.ok());
  EXPECT_EQ(src->side, tx::Side::initiator);
  EXPECT_TRUE(src->incomplete_last_line);
  EXPECT_EQ(src->lines, 40u);  // the cut-off line is left out
}

TEST(LogClassify, WhatIsNotACharonLogIsAnErrorThatSaysWhy) {
  std::vector<tx::ObservedEvent> events;
  auto empty = observe_log_text("", "e.log", std::nullopt, events);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("e.log: not a charon log: the file is empty"), std::string::npos);
  auto garbage = observe_log_text("hello\nworld\n", "g.log", std::nullopt, events);
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find("none of its 2 lines is a charon log line"), std::string::npos);
  auto cut = observe_log_text("Nov 23 18:48:34.771 16[IKE] <rw|9> tried", "c.log", std::nullopt, events);
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.error().message.find("no complete line"), std::string::npos);
  auto missing = observe_log_file("/nonexistent/charon.log", std::nullopt, events);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot open"), std::string::npos);
  EXPECT_TRUE(events.empty());
}

TEST(LogClassify, NoFailuresSaysSo) {
  std::vector<tx::ObservedEvent> events;
  auto src = observe_log_text("Nov 23 18:48:06.727 09[IKE] <1> 198.19.0.1 is initiating an IKE_SA\n", "n.log",
                              std::nullopt, events);
  ASSERT_TRUE(src.ok());
  auto table = log_classification_table(classify_observations({*src}, events));
  EXPECT_NE(table.find("no failures found"), std::string::npos) << table;
}

}  // namespace
}  // namespace ist::charon
