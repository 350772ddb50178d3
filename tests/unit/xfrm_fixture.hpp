#pragma once
// Reads tests/fixtures/xfrm/NAME.hex: one recorded netlink datagram per line as hex, '#'
// lines are comments (see record.py there).
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace ist::xfrm::test {

inline std::vector<uint8_t> from_hex(const std::string& s) {
  auto nib = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  for (std::size_t i = 0; i + 1 < s.size(); i += 2) {
    int hi = nib(s[i]), lo = nib(s[i + 1]);
    if (hi < 0 || lo < 0) break;
    out.push_back(static_cast<uint8_t>(hi << 4 | lo));
  }
  return out;
}

inline std::vector<std::vector<uint8_t>> load_fixture(const std::string& name) {
  std::ifstream f(std::string(IST_XFRM_FIXTURES) + "/" + name + ".hex");
  std::vector<std::vector<uint8_t>> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty() && line[0] != '#') out.push_back(from_hex(line));
  return out;
}

}  // namespace ist::xfrm::test
