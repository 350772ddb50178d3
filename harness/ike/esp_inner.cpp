#include "ike/esp_inner.hpp"

#include <cstring>

namespace ist::native {

namespace {
constexpr uint8_t kUdp = 17;

uint32_t add_words(ByteView data, uint32_t sum) {
  size_t i = 0;
  for (; i + 1 < data.size(); i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (i < data.size()) sum += static_cast<uint32_t>(data[i] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

uint32_t pseudo_header_sum(const uint8_t* src, const uint8_t* dst, size_t udp_len) {
  uint32_t sum = add_words(ByteView(src, 4), 0);
  sum = add_words(ByteView(dst, 4), sum);
  return sum + kUdp + static_cast<uint32_t>(udp_len);
}
}  // namespace

uint16_t internet_checksum(ByteView data, uint32_t sum) { return fold(add_words(data, sum)); }

Bytes build_ipv4_udp(const std::array<uint8_t, 4>& src, const std::array<uint8_t, 4>& dst, uint16_t src_port,
                     uint16_t dst_port, ByteView payload, uint16_t ip_id) {
  const size_t udp_len = 8 + payload.size();
  Bytes p;
  p.reserve(20 + udp_len);
  put_u8(p, 0x45);  // version 4, 5 words
  put_u8(p, 0);
  put_u16(p, static_cast<uint16_t>(20 + udp_len));
  put_u16(p, ip_id);
  put_u16(p, 0x4000);  // DF
  put_u8(p, 64);
  put_u8(p, kUdp);
  put_u16(p, 0);  // checksum, below
  put_bytes(p, src);
  put_bytes(p, dst);
  patch_u16(p, 10, internet_checksum(ByteView(p.data(), 20)));
  put_u16(p, src_port);
  put_u16(p, dst_port);
  put_u16(p, static_cast<uint16_t>(udp_len));
  put_u16(p, 0);
  put_bytes(p, payload);
  uint16_t c = internet_checksum(ByteView(p.data() + 20, udp_len), pseudo_header_sum(src.data(), dst.data(), udp_len));
  patch_u16(p, 26, c == 0 ? 0xffff : c);  // RFC 768: 0 means "no checksum"
  return p;
}

Result<InnerUdp> parse_ipv4_udp(ByteView p) {
  if (p.size() < 28 || (p[0] >> 4) != 4) return Error("not an IPv4 packet");
  const size_t ihl = static_cast<size_t>(p[0] & 0x0f) * 4;
  const size_t total = get_u16(p.data() + 2);
  if (ihl < 20 || total < ihl + 8 || total > p.size()) return Error("IPv4 header or total length out of range");
  if (internet_checksum(p.first(ihl)) != 0) return Error("IPv4 header checksum mismatch");
  if ((get_u16(p.data() + 6) & 0x3fff) != 0) return Error("IPv4 fragment");
  if (p[9] != kUdp) return Error("not UDP");
  ByteView udp = p.subspan(ihl, total - ihl);
  const size_t udp_len = get_u16(udp.data() + 4);
  if (udp_len < 8 || udp_len > udp.size()) return Error("UDP length out of range");
  udp = udp.first(udp_len);
  if (get_u16(udp.data() + 6) != 0 && internet_checksum(udp, pseudo_header_sum(p.data() + 12, p.data() + 16, udp_len)) != 0)
    return Error("UDP checksum mismatch");
  InnerUdp r;
  std::memcpy(r.src.data(), p.data() + 12, 4);
  std::memcpy(r.dst.data(), p.data() + 16, 4);
  r.src_port = get_u16(udp.data());
  r.dst_port = get_u16(udp.data() + 2);
  r.payload = udp.subspan(8);
  return r;
}

}  // namespace ist::native
