#include "vm/protocol.hpp"

#include <charconv>
#include <cstring>

namespace ist::vm::proto {
namespace {

constexpr std::size_t kHeader = 12;  // magic, length, checksum

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

// FNV-1a over the payload: a torn frame followed by a whole one must not decode as one.
std::uint32_t checksum(std::string_view p) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : p) h = (h ^ c) * 16777619u;
  return h;
}

// Decodes one payload; nullopt when its fields do not add up.
std::optional<Message> decode_payload(std::string_view p) {
  if (p.size() < 5) return std::nullopt;
  Message m;
  m.type = static_cast<std::uint8_t>(p[0]);
  m.id = get_u32(p.data() + 1);
  std::size_t off = 5;
  while (off < p.size()) {
    if (p.size() - off < 4) return std::nullopt;
    std::uint32_t len = get_u32(p.data() + off);
    off += 4;
    if (len > p.size() - off) return std::nullopt;
    m.fields.emplace_back(p.substr(off, len));
    off += len;
  }
  return m;
}

}  // namespace

std::string encode(const Message& m) {
  std::string payload;
  payload.push_back(static_cast<char>(m.type));
  put_u32(payload, m.id);
  for (const auto& f : m.fields) {
    put_u32(payload, static_cast<std::uint32_t>(f.size()));
    payload += f;
  }
  std::string out(kMagic);
  put_u32(out, static_cast<std::uint32_t>(payload.size()));
  put_u32(out, checksum(payload));
  out += payload;
  return out;
}

void Decoder::feed(const char* data, std::size_t n) { buf_.append(data, n); }

std::optional<Message> Decoder::next() {
  for (;;) {
    // Resynchronise on the magic: drop everything before it (keeping a possible partial one).
    auto at = buf_.find(kMagic);
    if (at == std::string::npos) {
      std::size_t keep = std::min(buf_.size(), kMagic.size() - 1);
      skipped_ += buf_.size() - keep;
      buf_.erase(0, buf_.size() - keep);
      return std::nullopt;
    }
    if (at > 0) {
      skipped_ += at;
      buf_.erase(0, at);
    }
    if (buf_.size() < kHeader) return std::nullopt;
    std::uint32_t len = get_u32(buf_.data() + 4);
    if (len > kMaxPayload || len < 5) {
      skipped_ += 1;
      buf_.erase(0, 1);  // not a real frame start: look for the next magic
      continue;
    }
    if (buf_.size() < kHeader + static_cast<std::size_t>(len)) return std::nullopt;
    auto payload = std::string_view(buf_).substr(kHeader, len);
    auto m = checksum(payload) == get_u32(buf_.data() + 8) ? decode_payload(payload) : std::nullopt;
    if (!m) {
      skipped_ += 1;
      buf_.erase(0, 1);
      continue;
    }
    buf_.erase(0, kHeader + static_cast<std::size_t>(len));
    return m;
  }
}

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parse_i64(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace ist::vm::proto
