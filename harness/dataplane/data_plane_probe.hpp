#pragma once
// The payload of the data plane's inner UDP packets: a tag that says which tunnel sent it, in
// which order, and whether it is a normal packet or an induced fault, so the sink in the SUT
// namespace and the peer that gets the echo back can both count per tunnel and tell a fault
// that got through from ordinary traffic.
#include <cstdint>
#include <optional>
#include <string>

#include "ike/bytes.hpp"

namespace ist::fleet {

// Normal traffic and the induced faults (the Windows codes they aim at).
enum class ProbeKind : uint8_t {
  normal = 0,
  bad_spi = 1,       // unknown SPI: ERROR_IPSEC_IKE_BAD_SPI 13910 / XfrmInNoStates
  replay = 2,        // a sequence number already used: REPLAY_CHECK_FAILED 13913 / XfrmInStateSeqError
  after_expiry = 3,  // on an SA that is gone (expired or replaced): SA_LIFETIME_EXPIRED 13911
};
const char* to_string(ProbeKind k);
inline constexpr int kProbeKinds = 4;

struct Probe {
  ProbeKind kind = ProbeKind::normal;
  bool echo = false;   // set by the sink on the way back
  uint32_t peer = 0;
  uint64_t number = 0;  // per peer and kind, from 0
};

inline constexpr size_t kProbeSize = 18;  // magic 4 | kind 1 | echo 1 | peer 4 | number 8

// `size` bytes (at least kProbeSize): the tag, then filler.
native::Bytes encode_probe(const Probe& p, size_t size);
std::optional<Probe> decode_probe(native::ByteView payload);

}  // namespace ist::fleet
