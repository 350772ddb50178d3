#pragma once
// The inner packets the data plane carries through its tunnels: IPv4 + UDP, built and parsed
// here (header checksum, UDP checksum over the pseudo-header). IPv6 inner packets are not
// built: the native engine's traffic selectors are IPv4 (docs/design.md, "Address plan").
#include <array>
#include <cstdint>

#include "common/result.hpp"
#include "ike/bytes.hpp"

namespace ist::native {

struct InnerUdp {
  std::array<uint8_t, 4> src{}, dst{};  // IPv4, network order
  uint16_t src_port = 0, dst_port = 0;
  ByteView payload;  // into the parsed buffer
};

// One IPv4 datagram (no options, DF set, TTL 64) carrying UDP.
Bytes build_ipv4_udp(const std::array<uint8_t, 4>& src, const std::array<uint8_t, 4>& dst, uint16_t src_port,
                     uint16_t dst_port, ByteView payload, uint16_t ip_id);

// Parses what build_ipv4_udp makes (any IPv4 header length); an Error for anything else
// (not IPv4/UDP, truncated, bad header checksum, fragment).
Result<InnerUdp> parse_ipv4_udp(ByteView packet);

// RFC 1071 internet checksum over `data` starting from `sum` (for pseudo-headers).
uint16_t internet_checksum(ByteView data, uint32_t sum = 0);

}  // namespace ist::native
