// The embedded Windows code table: counts, exact values, lookups, and the CSV parser's
// refusal of malformed rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "taxonomy/codes.hpp"

namespace ist::taxonomy {
namespace {

const CodeTable& table() { return CodeTable::instance(); }

TEST(CodeTable, HasAllDocumentedRows) {
  const auto& all = table().all();
  EXPECT_EQ(all.size(), 171u);
  auto count_kind = [&](std::string_view k) {
    return std::count_if(all.begin(), all.end(), [&](const Code& c) { return c.kind == k; });
  };
  EXPECT_EQ(count_kind("win32"), 154);
  EXPECT_EQ(count_kind("ntstatus"), 17);
}

TEST(CodeTable, NamesAndValuesAreUnique) {
  std::set<std::string> names;
  std::set<uint32_t> values;
  for (const auto& c : table().all()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_TRUE(values.insert(c.value).second) << c.name;
  }
}

TEST(CodeTable, EveryRowIsConsistent) {
  for (const auto& c : table().all()) {
    EXPECT_EQ(parse_code_value(c.hex), c.value) << c.name;
    EXPECT_FALSE(c.description.empty()) << c.name;
    // win32 names are ERROR_/WARNING_/WSA_IPSEC_*, NTSTATUS names STATUS_IPSEC_*.
    EXPECT_NE(c.name.find("IPSEC_"), std::string::npos) << c.name;
    EXPECT_EQ(c.name.rfind("STATUS_", 0) == 0, c.kind == "ntstatus") << c.name;
  }
}

struct Known {
  const char* name;
  const char* kind;
  uint32_t value;
  const char* hex;
};

const Known kKnown[] = {
    {"ERROR_IPSEC_IKE_MM_LIMIT", "win32", 13882, "0x363A"},
    {"ERROR_IPSEC_IKE_QUEUE_DROP_MM", "win32", 13811, "0x35F3"},
    {"ERROR_IPSEC_IKE_QUEUE_DROP_NO_MM", "win32", 13812, "0x35F4"},
    {"ERROR_IPSEC_IKE_DROP_NO_RESPONSE", "win32", 13813, "0x35F5"},
    {"ERROR_IPSEC_IKE_MM_DELAY_DROP", "win32", 13814, "0x35F6"},
    {"ERROR_IPSEC_IKE_QM_DELAY_DROP", "win32", 13815, "0x35F7"},
    {"ERROR_IPSEC_IKE_AUTH_FAIL", "win32", 13801, "0x35E9"},
    {"ERROR_IPSEC_IKE_ATTRIB_FAIL", "win32", 13802, "0x35EA"},
    {"ERROR_IPSEC_IKE_NO_POLICY", "win32", 13825, "0x3601"},
    {"ERROR_IPSEC_IKE_QM_LIMIT", "win32", 13884, "0x363C"},
    {"ERROR_IPSEC_IKE_DOS_COOKIE_SENT", "win32", 13890, "0x3642"},
    {"ERROR_IPSEC_IKE_RATELIMIT_DROP", "win32", 13903, "0x364F"},
    {"STATUS_IPSEC_QUEUE_OVERFLOW", "ntstatus", 0xC000A010, "0xC000A010"},
    {"STATUS_IPSEC_BAD_SPI", "ntstatus", 0xC0360001, "0xC0360001"},
};

class KnownCode : public ::testing::TestWithParam<Known> {};

TEST_P(KnownCode, ByNameAndByValueAgree) {
  const Known& k = GetParam();
  const Code* by_name = table().by_name(k.name);
  ASSERT_NE(by_name, nullptr) << k.name;
  EXPECT_EQ(by_name->kind, k.kind);
  EXPECT_EQ(by_name->value, k.value);
  EXPECT_EQ(by_name->hex, k.hex);
  EXPECT_EQ(table().by_value(k.value), by_name);
  EXPECT_EQ(table().by_value(std::string_view(k.hex)), by_name);
  EXPECT_EQ(table().by_value(std::string_view(std::to_string(k.value))), by_name);
}

INSTANTIATE_TEST_SUITE_P(Table, KnownCode, ::testing::ValuesIn(kKnown),
                         [](const ::testing::TestParamInfo<Known>& p) { return std::string(p.param.name); });

std::vector<uint32_t> values_of(const std::vector<const Code*>& v) {
  std::vector<uint32_t> out;
  for (const auto* c : v) out.push_back(c->value);
  return out;
}

TEST(CodeTable, LookupByFragmentDecimalAndHex) {
  EXPECT_EQ(values_of(table().lookup("QUEUE_DROP")), (std::vector<uint32_t>{13811, 13812}));
  EXPECT_EQ(values_of(table().lookup("queue_drop")), (std::vector<uint32_t>{13811, 13812}));
  EXPECT_EQ(values_of(table().lookup("0x363A")), (std::vector<uint32_t>{13882}));
  EXPECT_EQ(values_of(table().lookup("0x363a")), (std::vector<uint32_t>{13882}));
  EXPECT_EQ(values_of(table().lookup("13882")), (std::vector<uint32_t>{13882}));
  EXPECT_EQ(values_of(table().lookup("0xC000A010")), (std::vector<uint32_t>{0xC000A010}));
  // An exact name wins over the names it is a fragment of (MM_LIMIT vs. ..._MM_LIMIT_...).
  EXPECT_EQ(values_of(table().lookup("ERROR_IPSEC_IKE_MM_LIMIT")), (std::vector<uint32_t>{13882}));
}

TEST(CodeTable, UnknownNamesAndValuesMatchNothing) {
  // Cited on the web, not defined by Windows.
  EXPECT_TRUE(table().lookup("ERROR_IPSEC_IKE_NEGOTIATION_FAILED").empty());
  EXPECT_EQ(table().by_name("ERROR_IPSEC_IKE_NEGOTIATION_FAILED"), nullptr);
  EXPECT_TRUE(table().lookup("1").empty());
  EXPECT_TRUE(table().lookup("0xFFFFFFFF").empty());
  EXPECT_EQ(table().by_value(std::string_view("not a number")), nullptr);
}

TEST(ParseCodeValue, AcceptsDecimalAndHexOnly) {
  struct Case {
    const char* text;
    std::optional<uint32_t> want;
  };
  const Case cases[] = {
      {"13882", 13882u}, {"0x363A", 0x363Au}, {"0X363a", 0x363Au}, {"0xC000A010", 0xC000A010u},
      {"", std::nullopt}, {"0x", std::nullopt}, {"12a", std::nullopt}, {"-5", std::nullopt},
      {"0x1FFFFFFFF", std::nullopt}, {"99999999999", std::nullopt}, {"QUEUE", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(parse_code_value(c.text), c.want) << c.text;
}

TEST(CodeTableParse, AcceptsQuotedFieldsAndCrlf) {
  auto t = CodeTable::parse(
      "name,kind,decimal,hex,range,description\r\n"
      "ERROR_X,win32,10,0xA,ike,\"Text, with \"\"quotes\"\".\"\r\n");
  ASSERT_TRUE(t) << t.error().describe();
  ASSERT_EQ(t->all().size(), 1u);
  EXPECT_EQ(t->all()[0].description, "Text, with \"quotes\".");
  EXPECT_EQ(t->all()[0].value, 10u);
}

TEST(CodeTableParse, RefusesMalformedRows) {
  const std::string header = "name,kind,decimal,hex,range,description\n";
  const char* bad[] = {
      "",                                               // no header
      "name,kind\n",                                    // wrong header
      "ERROR_X,win32,10,0xA,ike\n",                     // 5 fields
      "ERROR_X,dos,10,0xA,ike,t\n",                     // unknown kind
      "ERROR_X,win32,10,0xB,ike,t\n",                   // decimal and hex differ
      "ERROR_X,win32,0xA,0xA,ike,t\n",                  // hex in the decimal column
      "ERROR_X,win32,10,10,ike,t\n",                    // decimal in the hex column
      "ERROR_X,win32,10,0xA,ike,\"open\n",              // unterminated quote
      "ERROR_X,win32,10,0xA,ike,t\nERROR_X,win32,11,0xB,ike,t\n",  // duplicate name
      "ERROR_X,win32,10,0xA,ike,t\nERROR_Y,win32,10,0xA,ike,t\n",  // duplicate value
  };
  for (std::string_view b : bad) {
    std::string text = b.empty() ? std::string() : header + std::string(b);
    if (b == "name,kind\n") text = std::string(b);
    EXPECT_FALSE(CodeTable::parse(text)) << text;
  }
}

}  // namespace
}  // namespace ist::taxonomy
