#pragma once
// A raw NETLINK_XFRM socket opened inside one network namespace (it keeps talking to that
// namespace whichever thread uses it later). Requests: counts without a dump
// (GETSADINFO/GETSPDINFO) and full SA/policy dumps. Multicast groups for the monitor.
// Parsing is message.hpp's; this file only moves bytes.
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "xfrm/message.hpp"
#include "xfrm/netns_runner.hpp"

namespace ist::xfrm {

// What a namespace holds now. SAs include larval ones (an ACQUIRE's placeholder, an
// allocated SPI not yet filled in).
struct Counts {
  uint32_t sas = 0;
  SpdInfo policies;
};

class XfrmSocket {
 public:
  XfrmSocket() = default;
  // `groups`: XFRMNLGRP_* to join (monitor); none for a request socket. `rcvbuf` bytes
  // (0 = the default; SO_RCVBUFFORCE is tried first so root can exceed rmem_max).
  static Result<XfrmSocket> open(const NetnsRunner& in, std::initializer_list<unsigned> groups = {},
                                 int rcvbuf = 0);

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }

  // Sends a request and gathers the answers with its sequence number until NLMSG_DONE (a
  // dump) or the first answer. Bounded by `timeout`. A kernel refusal is an Error with errno.
  Result<std::vector<Message>> request(uint16_t type, uint16_t flags, std::span<const uint8_t> body,
                                       std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));

  Result<Counts> counts();
  Result<std::vector<SaInfo>> dump_sas();
  Result<std::vector<PolicyInfo>> dump_policies();

  // One datagram without blocking: its bytes (valid until the next call), an empty span when
  // nothing is queued, or an Error (errno ENOBUFS when the kernel dropped messages for us).
  Result<std::span<const uint8_t>> receive();

 private:
  unique_fd fd_;
  uint32_t seq_ = 0;
  std::vector<uint8_t> buf_;
};

}  // namespace ist::xfrm
