#pragma once
// ESP in userspace (RFC 4303) for the native engine's CHILD_SAs: tunnel-mode encapsulation and
// decapsulation with AES-GCM-16 (RFC 4106: 8-byte explicit IV, 4-byte salt from the end of
// the KEYMAT encryption key, AAD = SPI | sequence number) or AES-CBC (RFC 3602) with
// HMAC-SHA2-256-128 (RFC 4868), 32-bit sequence numbers (no ESN, which the engine never
// proposes) and the receiver's anti-replay window (RFC 4303 3.4.3). Pure functions over
// bytes: no sockets; the ESP packet starts at the SPI (for ESP in UDP, RFC 3948, the caller
// strips the UDP header; there is no marker in front of ESP).
#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "ike/bytes.hpp"
#include "ike/sk_payload.hpp"

namespace ist::native {

inline constexpr uint8_t esp_next_ipv4 = 4;    // IPPROTO_IPIP: tunnel mode, inner IPv4
inline constexpr uint8_t esp_next_ipv6 = 41;   // IPPROTO_IPV6
inline constexpr uint8_t esp_next_none = 59;   // IPPROTO_NONE: a dummy packet (RFC 4303 2.6)
inline constexpr size_t esp_header_size = 8;   // SPI | sequence number

// One direction of a CHILD_SA. The algorithms have the same shape as the SK payload's
// (SkSuite): GCM keys carry the 4-byte salt at their end (RFC 4106 8.1).
struct EspKeys {
  SkSuite suite;
  Bytes encr;
  Bytes integ;  // empty for GCM
  Status validate() const;
};

// Builds one ESP packet: SPI | seq | IV | encrypted(inner | padding | pad length | next
// header) | ICV. Padding is 1, 2, 3, ... up to the cipher's block (16 for CBC, 4 for GCM).
// `iv` may be given for test vectors; otherwise GCM uses the sequence number (unique per SA,
// as RFC 4106 3.1 requires) and CBC a random IV.
Result<Bytes> esp_encapsulate(const EspKeys& keys, uint32_t spi, uint32_t seq, uint8_t next_header, ByteView inner,
                              ByteView iv = {});

// Anti-replay window (RFC 4303 3.4.3 and its appendix A2): the highest authenticated
// sequence number and a bitmap covering the `size` numbers up to it (1..1024; strongSwan's
// charon.replay_window default is 32).
class ReplayWindow {
 public:
  explicit ReplayWindow(uint32_t size = 64);
  // Whether seq may be accepted (checked before the ICV, as the RFC suggests).
  bool check(uint32_t seq) const;
  // Records an authenticated seq (call only after the ICV verified and check() passed).
  void accept(uint32_t seq);
  uint32_t top() const { return top_; }
  uint32_t size() const { return size_; }

 private:
  bool seen(uint32_t offset) const;  // offset below top_
  uint32_t size_;
  uint32_t top_ = 0;              // 0: nothing received yet (seq 0 is never valid)
  uint64_t bits_[16] = {};        // bit i: top_ - i was received
};

enum class EspVerdict {
  ok,
  malformed,   // too short, bad length for the cipher, zero SPI
  wrong_spi,   // not the SPI of the keys it was opened with (the caller's lookup)
  replay,      // sequence number 0, already seen, or left of the window
  integrity,   // ICV mismatch (or GCM tag)
  padding,     // authenticated but the padding or pad length is wrong
};
std::string verdict_name(EspVerdict v);

struct EspOpened {
  EspVerdict verdict = EspVerdict::malformed;
  uint32_t spi = 0;
  uint32_t seq = 0;
  uint8_t next_header = 0;
  Bytes inner;  // the decrypted payload without padding, when verdict == ok
};

// SPI and sequence number of an ESP packet; nullopt-like Error when shorter than the header
// or the SPI is zero (reserved, RFC 4303 2.1).
struct EspHeader {
  uint32_t spi = 0;
  uint32_t seq = 0;
};
Result<EspHeader> parse_esp_header(ByteView packet);

// Verifies and decrypts one ESP packet for the SA with `spi` and `keys`, updating `window`
// only when the packet is accepted.
EspOpened esp_decapsulate(const EspKeys& keys, uint32_t spi, ReplayWindow& window, ByteView packet);

}  // namespace ist::native
