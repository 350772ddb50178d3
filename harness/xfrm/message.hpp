#pragma once
// XFRM netlink messages (NETLINK_XFRM) as typed values, parsed from bytes alone: no socket
// here, so unit tests and the fuzzer feed recorded datagrams. The parser never trusts a
// length: every struct is copied out of the buffer after a bounds check, malformed input is
// an Error (or, for one bad message inside a datagram, an Error for that message only).
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>

#include "common/result.hpp"

namespace ist::xfrm {

struct Address {
  uint16_t family = 0;  // AF_INET | AF_INET6 | 0 (unset)
  std::array<uint8_t, 16> bytes{};
  std::string str() const;  // "198.18.0.1", "2001:2::1", "" when unset
  bool operator==(const Address&) const = default;
};

// A traffic selector (struct xfrm_selector): the flow or policy match.
struct Selector {
  Address src, dst;
  uint8_t prefix_src = 0, prefix_dst = 0;
  uint8_t proto = 0;            // IPPROTO_*, 0 = any
  uint16_t sport = 0, dport = 0;  // host order; 0 with mask 0 = any
  int32_t ifindex = 0;
  std::string str() const;      // "198.18.254.1/32 -> 198.18.254.9/32 udp 44441->5000"
};

enum class Direction : uint8_t { in = 0, out = 1, fwd = 2, other = 255 };
std::string_view to_string(Direction d);

struct PolicyInfo {
  Selector sel;
  Direction dir = Direction::other;
  uint32_t index = 0;
  uint32_t priority = 0;
  bool block = false;  // action XFRM_POLICY_BLOCK
};

struct SaInfo {
  Address src, dst;   // outer (tunnel) addresses
  uint32_t spi = 0;   // host order
  uint8_t proto = 0;  // IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP
  uint8_t mode = 0;   // XFRM_MODE_*
  uint32_t reqid = 0;
  Selector sel;
};

// Kernel -> key manager: a packet matched a policy with no state (XFRM_MSG_ACQUIRE).
struct Acquire {
  Address src, dst;   // template's tunnel addresses (the IKE peers)
  uint8_t proto = 0;  // template's IPsec protocol
  Selector flow;      // the packet's flow
  PolicyInfo policy;  // the policy that matched
  uint32_t seq = 0;
};
struct Expire {
  SaInfo sa;
  bool hard = false;
};
struct PolicyExpire {
  PolicyInfo policy;
  bool hard = false;
};
struct SaChange {
  enum class Kind : uint8_t { added, updated, deleted } kind = Kind::added;
  SaInfo sa;  // for deletes without XFRMA_SA only src is unset and sel empty
};
struct PolicyChange {
  enum class Kind : uint8_t { added, updated, deleted } kind = Kind::added;
  PolicyInfo policy;
};
struct Flush {
  bool policies = false;  // false: SAs
  uint8_t proto = 0;      // SA flush: IPPROTO_* or 0 = all
};
// Answers to XFRM_MSG_GETSADINFO / GETSPDINFO: counts without a dump.
struct SadInfo {
  uint32_t count = 0;
  uint32_t hash_buckets = 0;
};
struct SpdInfo {
  uint32_t in = 0, out = 0, fwd = 0;           // main policies per direction
  uint32_t in_socket = 0, out_socket = 0, fwd_socket = 0;
};
struct Done {};
struct NlError {
  int error = 0;  // negative errno, 0 = ack
};
struct Unknown {
  uint16_t type = 0;
};

using Body = std::variant<Acquire, Expire, PolicyExpire, SaChange, PolicyChange, Flush, SadInfo, SpdInfo,
                          Done, NlError, Unknown>;

struct Message {
  uint16_t type = 0;  // nlmsg_type
  uint16_t flags = 0;
  uint32_t seq = 0;
  Body body;
};

// One netlink message (header included, exactly nlmsg_len bytes or more).
Result<Message> parse_message(std::span<const uint8_t> bytes);

// Walks a datagram of netlink messages: `fn` gets each message's parse result in order.
// Returns an Error when the framing itself is broken (a length that overruns the buffer);
// messages before that point have been delivered.
Status for_each_message(std::span<const uint8_t> datagram, const std::function<void(Result<Message>)>& fn);

std::string_view proto_name(uint8_t ipproto);  // "esp", "ah", "comp", "udp", "tcp", "icmp", "any", "?"
std::string_view mode_name(uint8_t mode);      // "transport", "tunnel", ...

}  // namespace ist::xfrm
