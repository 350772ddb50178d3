#include "taxonomy/codes.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace ist::taxonomy {
namespace detail {
extern const std::string_view kCodesCsv;  // generated from the CSV (codes_csv.cpp.in)
}

namespace {

char upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool contains_ci(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(),
                        [](char a, char b) { return upper(a) == upper(b); });
  return it != hay.end();
}

// One CSV record: fields separated by commas, optionally double-quoted ("" escapes a quote).
// Advances `pos` past the record's line end. Returns an error text on malformed quoting.
std::optional<std::string> read_record(std::string_view csv, std::size_t& pos,
                                       std::vector<std::string>& fields) {
  fields.assign(1, std::string());
  bool quoted = false;
  bool field_was_quoted = false;
  while (pos < csv.size()) {
    char c = csv[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < csv.size() && csv[pos] == '"') {
          fields.back() += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        fields.back() += c;
      }
      continue;
    }
    if (c == '"') {
      if (!fields.back().empty() || field_was_quoted) return "quote inside an unquoted field";
      quoted = field_was_quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
      field_was_quoted = false;
    } else if (c == '\n') {
      break;
    } else if (c == '\r') {
      // CRLF line ends: the '\n' follows.
    } else {
      if (field_was_quoted) return "text after a closing quote";
      fields.back() += c;
    }
  }
  if (quoted) return "unterminated quote";
  return std::nullopt;
}

}  // namespace

std::optional<uint32_t> parse_code_value(std::string_view text) {
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) return std::nullopt;
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<CodeTable> CodeTable::parse(std::string_view csv) {
  static const std::vector<std::string> kHeader = {"name",  "kind",  "decimal",
                                                   "hex",   "range", "description"};
  CodeTable table;
  std::size_t pos = 0;
  std::vector<std::string> f;
  int line = 0;
  bool header_seen = false;
  while (pos < csv.size()) {
    ++line;
    auto err = read_record(csv, pos, f);
    auto where = "code table line " + std::to_string(line) + ": ";
    if (err) return Error(where + *err);
    if (f.size() == 1 && f[0].empty()) continue;  // blank line
    if (!header_seen) {
      if (f != kHeader) return Error(where + "expected header name,kind,decimal,hex,range,description");
      header_seen = true;
      continue;
    }
    if (f.size() != kHeader.size())
      return Error(where + "expected 6 fields, found " + std::to_string(f.size()));
    Code c{f[0], f[1], 0, f[3], f[4], f[5]};
    if (c.name.empty()) return Error(where + "empty name");
    if (c.kind != "win32" && c.kind != "ntstatus")
      return Error(where + "kind must be win32 or ntstatus, not '" + c.kind + "'");
    auto dec = parse_code_value(f[2]);
    auto hex = parse_code_value(f[3]);
    if (!dec || f[2].rfind("0x", 0) == 0) return Error(where + "bad decimal value '" + f[2] + "'");
    if (!hex || f[3].rfind("0x", 0) != 0) return Error(where + "bad hex value '" + f[3] + "'");
    if (*dec != *hex) return Error(where + "decimal " + f[2] + " and hex " + f[3] + " differ");
    c.value = *dec;
    if (table.by_name(c.name)) return Error(where + "duplicate name " + c.name);
    if (table.by_value(c.value)) return Error(where + "duplicate value " + f[2]);
    table.codes_.push_back(std::move(c));
  }
  if (!header_seen) return Error("code table: empty");
  return table;
}

const CodeTable& CodeTable::instance() {
  static const CodeTable table = [] {
    auto parsed = parse(detail::kCodesCsv);
    if (!parsed) {
      // Only a broken build can get here (the unit tests parse the same embedded text).
      std::fprintf(stderr, "ikestorm: embedded code table is corrupt: %s\n",
                   parsed.error().describe().c_str());
      std::abort();
    }
    return std::move(parsed).value();
  }();
  return table;
}

const Code* CodeTable::by_name(std::string_view exact_name) const {
  for (const auto& c : codes_)
    if (c.name == exact_name) return &c;
  return nullptr;
}

const Code* CodeTable::by_value(uint32_t value) const {
  for (const auto& c : codes_)
    if (c.value == value) return &c;
  return nullptr;
}

const Code* CodeTable::by_value(std::string_view decimal_or_hex) const {
  auto v = parse_code_value(decimal_or_hex);
  return v ? by_value(*v) : nullptr;
}

std::vector<const Code*> CodeTable::search(std::string_view fragment) const {
  std::vector<const Code*> out;
  for (const auto& c : codes_)
    if (contains_ci(c.name, fragment)) out.push_back(&c);
  return out;
}

std::vector<const Code*> CodeTable::lookup(std::string_view query) const {
  if (parse_code_value(query)) {
    const Code* c = by_value(query);
    return c ? std::vector<const Code*>{c} : std::vector<const Code*>{};
  }
  if (const Code* c = by_name(query)) return {c};
  return search(query);
}

}  // namespace ist::taxonomy
