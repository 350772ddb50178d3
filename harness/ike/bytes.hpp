#pragma once
// Byte buffers and big-endian helpers shared by the codec and the crypto layer.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ist::native {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;

inline void put_u8(Bytes& out, uint8_t v) { out.push_back(v); }
inline void put_u16(Bytes& out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v >> 8));
  out.push_back(static_cast<uint8_t>(v));
}
inline void put_u32(Bytes& out, uint32_t v) {
  put_u16(out, static_cast<uint16_t>(v >> 16));
  put_u16(out, static_cast<uint16_t>(v));
}
inline void put_u64(Bytes& out, uint64_t v) {
  put_u32(out, static_cast<uint32_t>(v >> 32));
  put_u32(out, static_cast<uint32_t>(v));
}
inline void put_bytes(Bytes& out, ByteView b) { out.insert(out.end(), b.begin(), b.end()); }

// Overwrites a 16- or 32-bit length field that was reserved earlier.
inline void patch_u16(Bytes& out, size_t at, uint16_t v) {
  out[at] = static_cast<uint8_t>(v >> 8);
  out[at + 1] = static_cast<uint8_t>(v);
}
inline void patch_u32(Bytes& out, size_t at, uint32_t v) {
  patch_u16(out, at, static_cast<uint16_t>(v >> 16));
  patch_u16(out, at + 2, static_cast<uint16_t>(v));
}

inline uint16_t get_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline uint32_t get_u32(const uint8_t* p) {
  return static_cast<uint32_t>(get_u16(p)) << 16 | get_u16(p + 2);
}
inline uint64_t get_u64(const uint8_t* p) {
  return static_cast<uint64_t>(get_u32(p)) << 32 | get_u32(p + 4);
}

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline Bytes concat(std::initializer_list<ByteView> parts) {
  Bytes out;
  for (auto p : parts) put_bytes(out, p);
  return out;
}

// "0a1b..." lower-case hex, for tests and log lines.
std::string to_hex(ByteView b);
// Parses hex (whitespace ignored); an odd count or a non-hex character yields an empty buffer.
Bytes from_hex(std::string_view hex);

}  // namespace ist::native
