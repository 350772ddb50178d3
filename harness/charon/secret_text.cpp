#include "charon/secret_text.hpp"

#include <fstream>
#include <sstream>

namespace ist::charon {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

Result<std::string> from_hex(std::string_view h) {
  if (h.empty() || h.size() % 2 != 0) return Error("a 0x secret needs an even, non-zero number of hex digits");
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2) {
    const int hi = hex_value(h[i]), lo = hex_value(h[i + 1]);
    if (hi < 0 || lo < 0) return Error("a 0x secret holds a character that is not a hex digit at offset " +
                                       std::to_string(i + 2 + (hi < 0 ? 0 : 1)));
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

Result<std::string> from_base64(std::string_view b) {
  std::size_t pad = 0;
  while (!b.empty() && b.back() == '=' && pad < 2) {
    b.remove_suffix(1);
    ++pad;
  }
  if (b.empty() || (b.size() + pad) % 4 != 0 || b.size() % 4 == 1)
    return Error("a 0s secret is not base64 (its length, with padding, is not a multiple of 4)");
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    const int v = base64_value(b[i]);
    if (v < 0) return Error("a 0s secret holds a character that is not base64 at offset " + std::to_string(i + 2));
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits & 0xff));
    }
  }
  return out;
}

}  // namespace

Result<std::string> decode_secret_text(std::string_view text) {
  if (text.size() >= 2 && text.substr(text.size() - 2) == "\r\n")
    text.remove_suffix(2);
  else if (!text.empty() && text.back() == '\n')
    text.remove_suffix(1);
  if (text.empty()) return Error("the secret is empty");
  Result<std::string> bytes = std::string(text);
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) bytes = from_hex(text.substr(2));
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 's' || text[1] == 'S')) bytes = from_base64(text.substr(2));
  if (bytes && bytes->empty()) return Error("the secret is empty");
  return bytes;
}

Result<std::string> read_secret_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error(path + ": cannot be read");
  std::ostringstream text;
  text << f.rdbuf();
  auto secret = decode_secret_text(text.str());
  if (!secret) return Error(path + ": " + secret.error().describe());
  return secret;
}

}  // namespace ist::charon
