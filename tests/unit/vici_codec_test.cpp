#include <gtest/gtest.h>

#include "vici/codec.hpp"

namespace ist::vici {
namespace {

std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
std::string operator""_b(const char* s, std::size_t n) { return std::string(s, n); }

// strongSwan's README encoding example, byte for byte.
const std::string kReadmeExample =
    bytes({3, 4}) + "key1" + bytes({0, 6}) + "value1" +    //
    bytes({1, 8}) + "section1" +                            //
    bytes({1, 11}) + "sub-section" +                        //
    bytes({3, 4}) + "key2" + bytes({0, 6}) + "value2" +     //
    bytes({2}) +                                            //
    bytes({4, 5}) + "list1" +                               //
    bytes({5, 0, 5}) + "item1" + bytes({5, 0, 5}) + "item2" + bytes({6}) +  //
    bytes({2});

Message readme_message() {
  Message m;
  m.set("key1", "value1");
  auto& s = m.section("section1");
  s.section("sub-section").set("key2", "value2");
  s.list("list1", {"item1", "item2"});
  return m;
}

TEST(ViciCodec, EncodesKnownMessagesByteExact) {
  struct Case {
    const char* what;
    Message message;
    std::string wire;
  };
  Message big;
  big.set("v", std::string(300, 'x'));
  Message empty_list;
  empty_list.list("l", std::vector<std::string>{});
  Case cases[] = {
      {"empty", Message{}, ""},
      {"readme example", readme_message(), kReadmeExample},
      {"u16 value length", big, bytes({3, 1}) + "v" + bytes({1, 44}) + std::string(300, 'x')},
      {"empty list", empty_list, bytes({4, 1}) + "l" + bytes({6})},
  };
  for (const auto& c : cases) {
    auto enc = encode_message(c.message);
    ASSERT_TRUE(enc) << c.what;
    EXPECT_EQ(*enc, c.wire) << c.what;
    auto dec = decode_message(c.wire);
    ASSERT_TRUE(dec) << c.what << ": " << dec.error().describe();
    EXPECT_EQ(*dec, c.message) << c.what;
  }
}

TEST(ViciCodec, EncodesPacketsByteExact) {
  Message args;
  args.set("a", "b");
  struct Case {
    PacketType type;
    std::string name;
    const Message* message;
    std::string wire;
  } cases[] = {
      {PacketType::cmd_request, "version", nullptr, bytes({0, 0, 0, 9, 0, 7}) + "version"},
      {PacketType::cmd_request, "x", &args, bytes({0, 0, 0, 9, 0, 1}) + "x" + bytes({3, 1}) + "a" +
                                                 bytes({0, 1}) + "b"},
      {PacketType::cmd_response, "", &args, bytes({0, 0, 0, 7, 1, 3, 1}) + "a" + bytes({0, 1}) + "b"},
      {PacketType::cmd_unknown, "", nullptr, bytes({0, 0, 0, 1, 2})},
      {PacketType::event_register, "list-sa", nullptr, bytes({0, 0, 0, 9, 3, 7}) + "list-sa"},
      {PacketType::event_unregister, "log", nullptr, bytes({0, 0, 0, 5, 4, 3}) + "log"},
      {PacketType::event_confirm, "", nullptr, bytes({0, 0, 0, 1, 5})},
      {PacketType::event_unknown, "", nullptr, bytes({0, 0, 0, 1, 6})},
      {PacketType::event, "e", &args, bytes({0, 0, 0, 9, 7, 1}) + "e" + bytes({3, 1}) + "a" +
                                          bytes({0, 1}) + "b"},
  };
  for (const auto& c : cases) {
    auto enc = encode_packet(c.type, c.name, c.message);
    ASSERT_TRUE(enc) << to_string(c.type);
    EXPECT_EQ(*enc, c.wire) << to_string(c.type);
    auto dec = decode_packet(std::string_view(c.wire).substr(4));
    ASSERT_TRUE(dec) << to_string(c.type) << ": " << dec.error().describe();
    EXPECT_EQ(dec->type, c.type);
    EXPECT_EQ(dec->name, c.name);
    EXPECT_EQ(dec->message, c.message ? *c.message : Message{});
  }
}

TEST(ViciCodec, RoundTripsBinaryAndDeepMessages) {
  Message m;
  m.set("bin", std::string("\0\x01\xff\x02", 4));
  m.list("items", {std::string_view("\0", 1), "", "z"});
  Message* s = &m;
  for (int i = 0; i < 60; ++i) s = &s->section("s" + std::to_string(i));
  s->set("deep", "yes");
  auto enc = encode_message(m);
  ASSERT_TRUE(enc);
  auto dec = decode_message(*enc);
  ASSERT_TRUE(dec) << dec.error().describe();
  EXPECT_EQ(*dec, m);
  EXPECT_EQ(encode_message(*dec).value(), *enc);
}

TEST(ViciCodec, EncodingRefusesWhatTheWireCannotCarry) {
  Message long_name;
  long_name.set(std::string(256, 'k'), "v");
  Message long_value;
  long_value.set("k", std::string(65536, 'v'));
  Message long_item;
  long_item.list("l", {std::string(65536, 'v')});
  Message long_section;
  long_section.section(std::string(256, 's'));
  for (const Message* m : {&long_name, &long_value, &long_item, &long_section})
    EXPECT_FALSE(encode_message(*m));

  Message ok_size;
  ok_size.set("k", std::string(60000, 'v'));
  EXPECT_TRUE(encode_packet(PacketType::cmd_request, "c", &ok_size));
  auto over = encode_packet(PacketType::cmd_request, "c", &ok_size, 1000);
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("over the limit of 1000"), std::string::npos);
  EXPECT_FALSE(encode_packet(PacketType::event_register, std::string(256, 'n')));

  std::string out = "keep";
  EXPECT_FALSE(append_packet(out, PacketType::cmd_request, "c", &long_value));
  EXPECT_EQ(out, "keep");  // a refused packet leaves nothing behind
}

TEST(ViciCodec, MalformedMessagesNameTheOffset) {
  struct Case {
    const char* what;
    std::string wire;
    std::string error_part;  // includes "at byte N"
  } cases[] = {
      {"unknown element type", bytes({9}), "unknown element type 9 at byte 0"},
      {"element type zero", bytes({3, 1}) + "a" + bytes({0, 0, 0}), "unknown element type 0 at byte 5"},
      {"truncated key name", bytes({3, 5}) + "ab", "key name of 5 bytes runs past the end at byte 1"},
      {"missing key name length", bytes({3}), "truncated length of key name at byte 1"},
      {"truncated value", bytes({3, 1}) + "a" + bytes({0, 9}) + "abc", "value of 9 bytes runs past the end at byte 3"},
      {"missing value length", bytes({3, 1}) + "a" + bytes({0}), "truncated length of value at byte 3"},
      {"unbalanced section end", bytes({2}), "SECTION_END without an open section at byte 0"},
      {"unterminated section", bytes({1, 1}) + "s" + bytes({1, 1}) + "t" + bytes({2}), "1 unterminated section(s) at byte 7"},
      {"unterminated list", bytes({4, 1}) + "l" + bytes({5, 0, 0}), "unterminated list at byte 6"},
      {"item outside list", bytes({5, 0, 0}), "LIST_ITEM outside a list at byte 0"},
      {"list end without list", bytes({6}), "LIST_END without an open list at byte 0"},
      {"nested list", bytes({4, 1}) + "l" + bytes({4, 1}) + "m", "element type 4 inside a list at byte 3"},
      {"key/value inside list", bytes({4, 1}) + "l" + bytes({3, 1}) + "k" + bytes({0, 0}), "element type 3 inside a list at byte 3"},
      {"section inside list", bytes({4, 1}) + "l" + bytes({1, 1}) + "s", "element type 1 inside a list at byte 3"},
      {"truncated list item", bytes({4, 1}) + "l" + bytes({5, 0, 4}) + "ab", "list item of 4 bytes runs past the end at byte 4"},
      {"garbage", "\xde\xad\xbe\xef"_b, "unknown element type 222 at byte 0"},
  };
  for (const auto& c : cases) {
    auto r = decode_message(c.wire);
    ASSERT_FALSE(r) << c.what;
    EXPECT_NE(r.error().message.find(c.error_part), std::string::npos)
        << c.what << " -> " << r.error().message;
    EXPECT_EQ(r.error().errno_value, EPROTO) << c.what;
  }
}

TEST(ViciCodec, OffsetsIncludeTheBase) {
  auto r = decode_message(bytes({9}), {}, 100);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("at byte 100"), std::string::npos);
  // In a packet the message starts after type and name.
  auto p = decode_packet(bytes({7, 1}) + "e" + bytes({9}), {}, 4);
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().message.find("unknown element type 9 at byte 7"), std::string::npos)
      << p.error().message;
}

TEST(ViciCodec, DepthLimit) {
  std::string deep;
  for (int i = 0; i < 10; ++i) deep += bytes({1, 0});
  for (int i = 0; i < 10; ++i) deep += bytes({2});
  EXPECT_TRUE(decode_message(deep, DecodeLimits{.max_depth = 10}));
  auto r = decode_message(deep, DecodeLimits{.max_depth = 9});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("nested deeper than 9 at byte 18"), std::string::npos)
      << r.error().message;
}

TEST(ViciCodec, MalformedPackets) {
  struct Case {
    const char* what;
    std::string payload;
    std::string error_part;
  } cases[] = {
      {"empty payload", "", "truncated packet type at byte 0"},
      {"unknown packet type", bytes({8}), "unknown packet type 8 at byte 0"},
      {"missing name length", bytes({0}), "truncated length of packet name at byte 1"},
      {"truncated name", bytes({3, 9}) + "ab", "packet name of 9 bytes runs past the end at byte 1"},
      {"bytes after CMD_UNKNOWN", bytes({2, 1}), "1 unexpected byte(s) after CMD_UNKNOWN at byte 1"},
      {"bytes after EVENT_CONFIRM", bytes({5, 0, 0}), "2 unexpected byte(s) after EVENT_CONFIRM at byte 1"},
      {"bytes after EVENT_REGISTER name", bytes({3, 1}) + "e" + bytes({1}), "after EVENT_REGISTER at byte 3"},
      {"bad message in response", bytes({1, 2}), "SECTION_END without an open section at byte 1"},
  };
  for (const auto& c : cases) {
    auto r = decode_packet(c.payload);
    ASSERT_FALSE(r) << c.what;
    EXPECT_NE(r.error().message.find(c.error_part), std::string::npos)
        << c.what << " -> " << r.error().message;
  }
  auto over = decode_packet(bytes({1}) + std::string(20, 'x'), DecodeLimits{.max_packet_size = 10});
  ASSERT_FALSE(over);
  EXPECT_NE(over.error().message.find("over the limit of 10"), std::string::npos);
}

TEST(ViciFrameReader, SplitsFramesFedByteByByte) {
  std::string stream = encode_packet(PacketType::cmd_unknown, "").value() +
                       encode_packet(PacketType::event_register, "list-sa").value();
  FrameReader r;
  std::vector<std::string> got;
  std::vector<std::size_t> offsets;
  for (char ch : stream) {
    r.feed(std::string_view(&ch, 1));
    while (true) {
      auto f = r.next();
      ASSERT_TRUE(f);
      if (!*f) break;
      got.emplace_back(**f);
      offsets.push_back(r.payload_offset());
    }
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], bytes({2}));
  EXPECT_EQ(got[1], bytes({3, 7}) + "list-sa");
  EXPECT_EQ(offsets, (std::vector<std::size_t>{4, 9}));
  EXPECT_EQ(r.buffered(), 0u);
}

TEST(ViciFrameReader, RefusesOversizedAndEmptyFramesWithoutBuffering) {
  struct Case {
    const char* what;
    std::string stream;
    std::string error_part;
  } cases[] = {
      {"length over limit", bytes({0, 0, 1, 1}), "frame length 257 over the limit of 256 at byte 0"},
      {"huge length", bytes({0xff, 0xff, 0xff, 0xff}), "frame length 4294967295 over the limit"},
      {"empty frame", bytes({0, 0, 0, 1, 2, 0, 0, 0, 0}), "empty frame (no packet type) at byte 5"},
  };
  for (const auto& c : cases) {
    FrameReader r(256);
    r.feed(c.stream);
    Result<std::optional<std::string_view>> f = std::optional<std::string_view>();
    do {
      f = r.next();
    } while (f && *f);
    ASSERT_FALSE(f) << c.what;
    EXPECT_NE(f.error().message.find(c.error_part), std::string::npos)
        << c.what << " -> " << f.error().message;
    EXPECT_FALSE(r.next()) << "a failed reader stays failed";
  }
}

TEST(ViciFrameReader, TruncatedFrameStaysBuffered) {
  auto frame = encode_packet(PacketType::event_register, "ike-updown").value();
  FrameReader r;
  r.feed(std::string_view(frame).substr(0, frame.size() - 1));
  auto f = r.next();
  ASSERT_TRUE(f);
  EXPECT_FALSE(*f);
  EXPECT_EQ(r.buffered(), frame.size() - 1);
}

}  // namespace
}  // namespace ist::vici
