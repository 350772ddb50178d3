#pragma once
// PacketIo for a whole routed prefix, IPv4 or IPv6, with no kernel address per peer: the
// SUT routes the prefix to the peers' namespace, where nothing owns those addresses (so that
// kernel neither answers nor forwards them: IPv4 with ip_forward=0 drops them silently, no
// ICMP; IPv6: see below). This layer reads them before the IP stack does and sends
// with any source address in the prefix:
//   receive  one AF_PACKET socket on the peers' link with a TPACKET_V2 memory-mapped ring
//            of fixed frames and a classic-BPF filter (the family's packets, destination in
//            the prefix, UDP to one of `ports`; IPv4 unfragmented; IPv6 with UDP next, or
//            an extension header that userspace walks: hop-by-hop, routing with no
//            segments left and destination options are skipped, a fragment is dropped and
//            counted), drained into batches. (TPACKET_V3 was tried first: its blocks retire
//            after a timeout however empty, so a loop busy for 16 ms - 1,000 initiates' DH -
//            filled a 16-block ring with near-empty blocks and the kernel dropped a third of
//            the SUT's answers.) The UDP checksum is not verified on receive: over veth the
//            SUT's datagrams arrive CHECKSUM_PARTIAL, their checksum field not yet final.
//   send     one raw socket of the family (IPPROTO_RAW: we write the IP and UDP headers,
//            the UDP checksum always - IPv6 requires it -, the kernel routes and resolves
//            the neighbour: the next hop toward the SUT, never a peer address);
//            datagrams queue until flush() or the end of the EventLoop iteration and leave
//            with one sendmmsg per 64
//
// IPv6 has no ARP and no ip_forward-style silent drop: the SUT resolves only its route's next
// hop (2001:2:0:2::/63 via 2001:2::2, the peers' link address, which that kernel owns and
// answers for), and our sends' neighbour solicitations for the SUT carry the link address
// (the kernel uses a packet's source only when it owns it): one neighbour entry per side, as
// with IPv4. But a packet to an address the peers' kernel has no route for gets an ICMPv6
// "no route" back (IPv4 stays silent without forwarding, IPv6 does not), so whoever sets this
// layer up for IPv6 also claims the prefix there with a blackhole route
// (netns::add_blackhole_route; the native engine does).
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "fleet/native/packet_io.hpp"
#include "fleet/native/udp_sockets_io.hpp"

namespace ist::native {

struct RawPrefixIoOptions {
  std::string interface;                       // the peers' end of the link (in run_in's namespace)
  // The peers' IKE prefix: IPv4 (address_bytes 4) or IPv6 (16), network order.
  std::array<uint8_t, 16> prefix{198, 19, 0, 0};
  uint8_t address_bytes = 4;
  unsigned prefix_length = 17;
  std::vector<uint16_t> ports{500, 4500};      // destination ports delivered (at most 8)
  uint32_t ring_frames = 4096;                 // datagrams the ring holds before the kernel drops
  uint32_t frame_bytes = 2048;                 // per frame (header included): larger packets are dropped
  NamespaceRunner run_in;                      // where `interface` lives; empty: here

  // Sets prefix, address_bytes and prefix_length from a 4- or 16-byte address.
  void set_prefix(ByteView address, unsigned length);
};

class RawPrefixIo final : public PacketIo {
 public:
  static Result<std::unique_ptr<RawPrefixIo>> open(EventLoop& loop, const RawPrefixIoOptions& options);
  ~RawPrefixIo() override;

  void send(const PacketDatagram& d) override;
  void flush() override;
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  bool can_send_from(const IpPort& src) const override {
    return src.len == opts_.address_bytes && in_prefix(src.addr.data());
  }
  // rx_dropped includes what the kernel could not put in the ring (tp_drops).
  PacketIoStats stats() const override;
  std::string name() const override { return "raw-prefix"; }
  void close() override;


  static constexpr size_t kBatch = 64;

 private:
  explicit RawPrefixIo(EventLoop& loop) : loop_(loop) {}
  bool in_prefix(const uint8_t* addr) const;
  void on_readable();
  // The datagram in a ring frame, or false (counted as dropped).
  bool parse_frame(const uint8_t* packet, size_t length, PacketDatagram& out);

  EventLoop& loop_;
  RawPrefixIoOptions opts_;
  std::array<uint8_t, 16> prefix_{}, mask_{};  // network order, the first address_bytes
  unique_fd rx_, tx_;
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  uint32_t next_frame_ = 0;
  // Send queue: built packets (IP + UDP + payload) waiting for one sendmmsg.
  std::vector<std::vector<uint8_t>> queued_;
  size_t queued_count_ = 0;
  EventLoop::TimerId flush_timer_ = 0;
  Receiver receiver_;
  PacketIoStats stats_;
  mutable uint64_t ring_drops_ = 0;  // the kernel's counter resets on each read
  bool closed_ = false;
};

// The IPv4 header checksum / UDP checksum (RFC 768 pseudo-header; RFC 8200 8.1 for IPv6,
// where a zero checksum is not allowed) of a datagram; exposed for tests.
uint16_t ipv4_header_checksum(const uint8_t* header, size_t length);
uint16_t udp4_checksum(const uint8_t* src, const uint8_t* dst, const uint8_t* udp, size_t udp_length);
uint16_t udp6_checksum(const uint8_t* src, const uint8_t* dst, const uint8_t* udp, size_t udp_length);

// The whole IP packet (header, UDP header with its checksum, payload) RawPrefixIo sends for
// `d`, into `out`; false when `d` is not sendable (families differ or not 4/16, too large).
// Exposed for tests.
bool build_udp_packet(const PacketDatagram& d, std::vector<uint8_t>& out);
// The UDP datagram in an IPv6 packet (extension headers walked as the receive side does);
// an empty optional for anything it drops. Exposed for tests.
std::optional<PacketDatagram> parse_udp6_packet(const uint8_t* packet, size_t length);

}  // namespace ist::native
