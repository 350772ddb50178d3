#pragma once
// PacketIo for a whole routed IPv4 prefix with no kernel address per peer: the SUT routes
// the prefix to the peers' namespace, where nothing owns those addresses (so that kernel
// neither answers nor forwards them: ip_forward=0 drops them silently, no ICMP). This layer
// reads them before the IP stack does and sends with any source address in the prefix:
//   receive  one AF_PACKET socket on the peers' link with a TPACKET_V2 memory-mapped ring
//            of fixed frames and a classic-BPF filter (IPv4, UDP, destination in the
//            prefix, destination port in `ports`, not a fragment), drained into batches.
//            (TPACKET_V3 was tried first: its blocks retire after a timeout however empty,
//            so a loop busy for 16 ms - 1,000 initiates' DH - filled a 16-block ring with
//            near-empty blocks and the kernel dropped a third of the SUT's answers.)
//   send     one raw IPv4 socket (IPPROTO_RAW: we write the IPv4 and UDP headers, the
//            kernel routes and resolves the neighbour); datagrams queue until flush() or
//            the end of the EventLoop iteration and leave with one sendmmsg per 64
// IPv4 only; IPv6 peers use UdpSocketsIo.
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "fleet/native/packet_io.hpp"
#include "fleet/native/udp_sockets_io.hpp"

namespace ist::native {

struct RawPrefixIoOptions {
  std::string interface;                       // the peers' end of the link (in run_in's namespace)
  std::array<uint8_t, 4> prefix{198, 19, 0, 0};  // the peers' IKE prefix
  unsigned prefix_length = 17;
  std::vector<uint16_t> ports{500, 4500};      // destination ports delivered (at most 8)
  uint32_t ring_frames = 4096;                 // datagrams the ring holds before the kernel drops
  uint32_t frame_bytes = 2048;                 // per frame (header included): larger packets are dropped
  NamespaceRunner run_in;                      // where `interface` lives; empty: here
};

class RawPrefixIo final : public PacketIo {
 public:
  static Result<std::unique_ptr<RawPrefixIo>> open(EventLoop& loop, const RawPrefixIoOptions& options);
  ~RawPrefixIo() override;

  void send(const PacketDatagram& d) override;
  void flush() override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  bool can_send_from(const IpPort& src) const override { return src.len == 4 && in_prefix(src.addr.data()); }
  // rx_dropped includes what the kernel could not put in the ring (tp_drops).
  PacketIoStats stats() const override;
  std::string name() const override { return "raw-prefix"; }
  void close() override;


  static constexpr size_t kBatch = 64;

 private:
  explicit RawPrefixIo(EventLoop& loop) : loop_(loop) {}
  bool in_prefix(const uint8_t* addr) const;
  void on_readable();

  EventLoop& loop_;
  RawPrefixIoOptions opts_;
  uint32_t prefix_ = 0, mask_ = 0;  // host order
  unique_fd rx_, tx_;
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t next_frame_ = 0;
  // Send queue: built packets (IPv4 + UDP + payload) waiting for one sendmmsg.
  std::vector<std::vector<uint8_t>> queued_;
  size_t queued_count_ = 0;
  EventLoop::TimerId flush_timer_ = 0;
  Receiver receiver_;
  PacketIoStats stats_;
  mutable uint64_t ring_drops_ = 0;  // the kernel's counter resets on each read
  bool closed_ = false;
};

// The IPv4 header checksum / UDP checksum (RFC 768 pseudo-header) of a datagram; exposed
// for tests.
uint16_t ipv4_header_checksum(const uint8_t* header, size_t length);
uint16_t udp4_checksum(const uint8_t* src, const uint8_t* dst, const uint8_t* udp, size_t udp_length);

}  // namespace ist::native
