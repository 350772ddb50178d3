#pragma once
// Small text scanners the charon log parser and its message table share. Inline: they run
// for every line of a log (tens of millions per second), so they must not cost a call.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace ist::charon::text {

using sv = std::string_view;

constexpr bool starts(sv s, sv p) { return s.size() >= p.size() && s.compare(0, p.size(), p) == 0; }
constexpr bool ends(sv s, sv p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Decimal at the start of s (at most 18 digits); -1 when none.
inline int64_t leading_int(sv s) {
  int64_t v = 0;
  std::size_t i = 0;
  for (; i < s.size() && i < 18 && is_digit(s[i]); ++i) v = v * 10 + (s[i] - '0');
  return i == 0 ? -1 : v;
}

// Decimal right after the first occurrence of `marker` in s; -1 when absent.
inline int64_t int_after(sv s, sv marker) {
  std::size_t p = s.find(marker);
  return p == sv::npos ? -1 : leading_int(s.substr(p + marker.size()));
}

// What follows the first occurrence of `marker` in s; empty when absent.
inline sv after(sv s, sv marker) {
  std::size_t p = s.find(marker);
  return p == sv::npos ? sv{} : s.substr(p + marker.size());
}

// An address as %H / %#H prints it: up to a space, '[' (port), ',' or the end. Empty when the
// token does not look like an IPv4/IPv6 address. charon prints IPv6 bare ("2001:2::5",
// "2001:2::5[500]"); the bracketed form ("[2001:2::5]", "[2001:2::5]:500") is taken too,
// without its brackets: after_addr() finds what follows either form.
inline sv take_addr(sv s) {
  if (!s.empty() && s[0] == '[') {
    std::size_t close = s.find(']');
    if (close == sv::npos || close < 3 || close > 47) return {};
    sv a = s.substr(1, close - 1);
    for (char c : a)
      if (!is_hex(c) && c != ':' && c != '.') return {};
    return a.find(':') == sv::npos ? sv{} : a;
  }
  std::size_t i = 0;
  while (i < s.size() && i < 64 && s[i] != ' ' && s[i] != '[' && s[i] != ',') ++i;
  sv a = s.substr(0, i);
  if (a.empty() || !(is_hex(a[0]) || a[0] == ':' || a[0] == '%')) return {};
  return a;
}

// What follows the address `a` that take_addr(s) returned (its closing bracket skipped);
// all of s when there was none.
inline sv after_addr(sv s, sv a) {
  if (a.empty()) return s;
  std::size_t end = static_cast<std::size_t>(a.data() - s.data()) + a.size();
  if (a.data() != s.data() && end < s.size() && s[end] == ']') ++end;
  return s.substr(end);
}

// "%H[%Y]": the identity inside the brackets following the address.
inline sv bracket_after_addr(sv s) {
  std::size_t open = s.find('[');
  if (open == sv::npos) return {};
  std::size_t close = s.find(']', open + 1);
  if (close == sv::npos) return {};
  return s.substr(open + 1, close - open - 1);
}

}  // namespace ist::charon::text
