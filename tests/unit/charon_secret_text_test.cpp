#include <gtest/gtest.h>

#include "charon/secret_text.hpp"

namespace ist::charon {
namespace {

std::string bytes(std::string_view t) { return decode_secret_text(t).value(); }
std::string why(std::string_view t) {
  auto r = decode_secret_text(t);
  return r ? std::string() : r.error().describe();
}

TEST(SecretText, PlainTextWithOneTrailingNewlineIgnored) {
  EXPECT_EQ(bytes("s3cret"), "s3cret");
  EXPECT_EQ(bytes("s3cret\n"), "s3cret");
  EXPECT_EQ(bytes("s3cret\r\n"), "s3cret");
  EXPECT_EQ(bytes("s3cret\n\n"), "s3cret\n");  // only one
  EXPECT_EQ(bytes("with space "), "with space ");
}

TEST(SecretText, HexAndBase64AsSwanctlWritesThem) {
  EXPECT_EQ(bytes("0x414243\n"), "ABC");
  EXPECT_EQ(bytes("0X00ff"), std::string("\x00\xff", 2));
  EXPECT_EQ(bytes("0sQUJD"), "ABC");
  EXPECT_EQ(bytes("0sQUI="), "AB");
  EXPECT_EQ(bytes("0sQQ==\n"), "A");
  EXPECT_EQ(bytes("0sc2VjcmV0LXBzay0xMjM="), "secret-psk-123");
}

TEST(SecretText, BadFormsAreErrorsThatDoNotRepeatTheSecret) {
  EXPECT_NE(why("").find("empty"), std::string::npos);
  EXPECT_NE(why("\n").find("empty"), std::string::npos);
  EXPECT_NE(why("0x4142g3").find("not a hex digit"), std::string::npos);
  EXPECT_NE(why("0x414").find("even"), std::string::npos);
  EXPECT_NE(why("0sQUJ").find("not base64"), std::string::npos);
  EXPECT_NE(why("0sQU*D").find("not base64"), std::string::npos);
  EXPECT_EQ(why("0sQU*D").find("QU*D"), std::string::npos);
}

TEST(SecretText, FileErrorsNameTheFile) {
  auto r = read_secret_file("/nonexistent/gw.psk");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().describe().find("/nonexistent/gw.psk"), std::string::npos);
}

}  // namespace
}  // namespace ist::charon
