#pragma once
// The Windows IPsec error code table (win32 ERROR_IPSEC_* and NTSTATUS STATUS_IPSEC_*),
// embedded at build time from harness/taxonomy/windows-ipsec-codes.csv.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ist::taxonomy {

struct Code {
  std::string name;         // ERROR_IPSEC_IKE_MM_LIMIT
  std::string kind;         // "win32" | "ntstatus"
  uint32_t value = 0;       // 13882, 0xC000A010
  std::string hex;          // "0x363A" (as documented: upper-case digits)
  std::string range;        // group in the documentation: ike, policy, dosp, driver, ...
  std::string description;  // the documented text
};

// "13882" or "0x363A" / "0XC000a010" -> value; nullopt when `text` is neither.
std::optional<uint32_t> parse_code_value(std::string_view text);

class CodeTable {
 public:
  // The embedded table. Parsed once; the embedded CSV is checked by the unit tests.
  static const CodeTable& instance();
  // Parses CSV text with the header name,kind,decimal,hex,range,description.
  static Result<CodeTable> parse(std::string_view csv);

  const std::vector<Code>& all() const { return codes_; }
  const Code* by_name(std::string_view exact_name) const;
  const Code* by_value(uint32_t value) const;
  const Code* by_value(std::string_view decimal_or_hex) const;
  // Codes whose name contains `fragment` (case-insensitive), in table order.
  std::vector<const Code*> search(std::string_view fragment) const;
  // What `ikestorm codes QUERY` shows: a number selects by value, otherwise an exact name,
  // otherwise every name containing QUERY. Empty when nothing matches.
  std::vector<const Code*> lookup(std::string_view query) const;

 private:
  std::vector<Code> codes_;
};

}  // namespace ist::taxonomy
