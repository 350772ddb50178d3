#pragma once
// Values with units as scenario files write them. Each parser returns the value or a short
// reason ("unknown unit 'x'") that the caller puts after the key path and quoted value.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace ist::scenario {

template <class T>
using Parsed = std::variant<T, std::string>;  // value, or why the text is not one

// Durations: "250ms", "30s", "5m", "8h", decimals allowed ("1.5h"); a bare number is seconds.
Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);
// Rates: "200/s", "30/m"; a bare number is per second. Result in events per second.
Parsed<double> parse_rate(std::string_view text);
// Shares: "50%", "0.5%" -> fraction 0..1. A bare 0 is accepted (no share).
Parsed<double> parse_share(std::string_view text);
// Link rates as tc writes them: "1gbit", "100mbit", "512kbit", "64000bit". Bits per second.
Parsed<std::uint64_t> parse_bitrate(std::string_view text);
// Whole numbers: digits only (an optional '_' or ',' between digit groups is ignored).
Parsed<std::uint64_t> parse_count(std::string_view text);
// Decimal number, finite.
Parsed<double> parse_number(std::string_view text);
// true/false/yes/no/on/off.
Parsed<bool> parse_bool(std::string_view text);

// Shortest exact rendering: 1800000 -> "30m", 1500 -> "1500ms", 5400000 -> "90m".
std::string format_duration(std::chrono::milliseconds d);
// 500 -> "500/s", 0.5 -> "30/m".
std::string format_rate(double per_second);

}  // namespace ist::scenario
