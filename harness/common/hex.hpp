#pragma once
// Bytes as lowercase hex digits: random names and secrets, raw dumps, SPIs.
#include <cstdint>
#include <span>
#include <string>

namespace ist {

inline std::string to_hex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

}  // namespace ist
