#include "scenario/units.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

namespace ist::scenario {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Splits "12.5mbit" into 12.5 and "mbit". The number must be non-negative and finite.
struct NumberAndUnit {
  double number = 0;
  std::string_view unit;
};

Parsed<NumberAndUnit> split_number(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::string("empty value");
  if (text.front() == '-') return std::string("must not be negative");
  if (text.front() == '+') text.remove_prefix(1);
  std::size_t i = 0;
  while (i < text.size() && ((text[i] >= '0' && text[i] <= '9') || text[i] == '.')) ++i;
  if (i == 0) return std::string("not a number");
  NumberAndUnit out;
  auto r = std::from_chars(text.data(), text.data() + i, out.number);
  if (r.ec != std::errc() || r.ptr != text.data() + i || !std::isfinite(out.number)) {
    return std::string("not a number");
  }
  out.unit = trim(text.substr(i));
  return out;
}

}  // namespace

Parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto p = split_number(text);
  if (auto* why = std::get_if<std::string>(&p)) return *why;
  const auto [n, unit] = std::get<NumberAndUnit>(p);
  double factor_ms = 0;
  if (unit.empty() || unit == "s") {
    factor_ms = 1000;
  } else if (unit == "ms") {
    factor_ms = 1;
  } else if (unit == "m") {
    factor_ms = 60'000;
  } else if (unit == "h") {
    factor_ms = 3'600'000;
  } else {
    return "unknown unit '" + std::string(unit) + "' (use ms, s, m or h)";
  }
  const double ms = n * factor_ms;
  if (ms > 1e15) return std::string("far too long");
  return std::chrono::milliseconds(std::llround(ms));
}

Parsed<double> parse_rate(std::string_view text) {
  auto p = split_number(text);
  if (auto* why = std::get_if<std::string>(&p)) return *why;
  const auto [n, unit] = std::get<NumberAndUnit>(p);
  if (unit.empty() || unit == "/s") return n;
  if (unit == "/m") return n / 60.0;
  return "unknown unit '" + std::string(unit) + "' (use /s or /m)";
}

Parsed<double> parse_share(std::string_view text) {
  auto p = split_number(text);
  if (auto* why = std::get_if<std::string>(&p)) return *why;
  const auto [n, unit] = std::get<NumberAndUnit>(p);
  if (unit == "%") return n / 100.0;
  if (unit.empty() && n == 0) return 0.0;
  if (unit.empty()) return std::string("a share needs '%', e.g. 50%");
  return "unknown unit '" + std::string(unit) + "' (a share is a percentage, e.g. 50%)";
}

Parsed<std::uint64_t> parse_bitrate(std::string_view text) {
  auto p = split_number(text);
  if (auto* why = std::get_if<std::string>(&p)) return *why;
  const auto [n, unit] = std::get<NumberAndUnit>(p);
  double factor = 0;
  if (unit == "bit") {
    factor = 1;
  } else if (unit == "kbit") {
    factor = 1e3;
  } else if (unit == "mbit") {
    factor = 1e6;
  } else if (unit == "gbit") {
    factor = 1e9;
  } else if (unit.empty()) {
    return std::string("a link rate needs a unit: bit, kbit, mbit or gbit");
  } else {
    return "unknown unit '" + std::string(unit) + "' (use bit, kbit, mbit or gbit)";
  }
  const double bits = n * factor;
  if (bits > 1e13) return std::string("far too fast");
  return static_cast<std::uint64_t>(std::llround(bits));
}

Parsed<std::uint64_t> parse_count(std::string_view text) {
  text = trim(text);
  if (text.empty()) return std::string("empty value");
  if (text.front() == '-') return std::string("must not be negative");
  std::string digits;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if ((c == '_' || c == ',') && i > 0 && i + 1 < text.size()) {
      continue;
    } else {
      return std::string("not a whole number");
    }
  }
  std::uint64_t v = 0;
  auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec == std::errc::result_out_of_range) return std::string("far too large");
  if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) {
    return std::string("not a whole number");
  }
  return v;
}

Parsed<double> parse_number(std::string_view text) {
  text = trim(text);
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || r.ec != std::errc() || r.ptr != text.data() + text.size() ||
      !std::isfinite(v)) {
    return std::string("not a number");
  }
  return v;
}

Parsed<bool> parse_bool(std::string_view text) {
  text = trim(text);
  for (auto t : {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON"}) {
    if (text == t) return true;
  }
  for (auto f : {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF"}) {
    if (text == f) return false;
  }
  return std::string("expected true or false");
}

std::string format_duration(std::chrono::milliseconds d) {
  const long long ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_rate(double per_second) {
  char buf[64];
  if (per_second >= 1 || per_second == 0) {
    std::snprintf(buf, sizeof buf, "%g/s", per_second);
  } else {
    std::snprintf(buf, sizeof buf, "%g/m", per_second * 60);
  }
  return buf;
}

}  // namespace ist::scenario
