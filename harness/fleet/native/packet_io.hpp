#pragma once
// PacketIo: the one seam between the native peer engine and the wire. NativeFleet sends and
// receives whole UDP datagrams (IKE on 500, IKE/ESP-in-UDP on 4500) through it and never
// touches a socket itself. Implementations:
//   UdpSocketsIo (udp_sockets_io.hpp)  two kernel UDP sockets per local address (the
//                                      fallback; needs every peer address on a link)
//   RawPrefixIo  (raw_prefix_io.hpp)   one AF_PACKET receive ring plus one raw IPv4 or IPv6
//                                      send socket for a whole routed prefix: any source
//                                      address inside it, no per-peer kernel address
//
// Wrapping it (impairments, ESP): write a decorator that owns or references the inner
// PacketIo, forwards send()/flush() after deciding what to do with each datagram (drop,
// hold and re-send later from a timer, duplicate, corrupt a copy), and in set_receiver()
// installs its own receiver on the inner one that filters / rewrites the batch before
// calling the receiver it was given. Datagrams and their payload spans are valid only
// during the call that hands them over: copy what you keep. Everything runs on the one
// EventLoop the implementation was made with; nothing here is thread-safe.
#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>

#include "common/result.hpp"
#include "ike/bytes.hpp"

namespace ist::native {

// An IPv4 or IPv6 address with a UDP port; compares by value.
struct IpPort {
  std::array<uint8_t, 16> addr{};  // network order; the first `len` bytes are used
  uint8_t len = 4;                 // 4 or 16
  uint16_t port = 0;               // host order

  static IpPort of(ByteView address, uint16_t port) {
    IpPort p;
    p.len = static_cast<uint8_t>(address.size() == 16 ? 16 : 4);
    std::memcpy(p.addr.data(), address.data(), p.len);
    p.port = port;
    return p;
  }
  ByteView address() const { return ByteView(addr.data(), len); }
  bool same_address(const IpPort& o) const { return len == o.len && std::memcmp(addr.data(), o.addr.data(), len) == 0; }
  bool operator==(const IpPort& o) const { return same_address(o) && port == o.port; }
  std::string str() const;  // "198.19.0.1:500", "[2001:2::1]:4500"
};

// One UDP datagram: who sent it, to whom, and the UDP payload (for port 4500 with its
// non-ESP marker or ESP header as on the wire, RFC 3948).
struct PacketDatagram {
  IpPort src;
  IpPort dst;
  ByteView payload;
};

struct PacketIoStats {
  uint64_t sent = 0;          // datagrams handed to the kernel
  uint64_t send_errors = 0;   // refused by the kernel or not sendable (counted as loss)
  uint64_t received = 0;      // datagrams delivered to the receiver
  uint64_t rx_dropped = 0;    // seen but not delivered (not for us, malformed, ring overrun)
};

class PacketIo {
 public:
  // A batch of received datagrams, in arrival order.
  using Receiver = std::function<void(std::span<const PacketDatagram> batch)>;

  virtual ~PacketIo() = default;
  // Queues one datagram. An implementation may send at once or hold it until flush() or the
  // end of the current EventLoop iteration (it arranges that flush itself), so a burst of
  // sends from one handler goes out as one batch. Failures are counted, never returned: to
  // the IKE engine a refused send is a lost datagram its retransmits cover.
  virtual void send(const PacketDatagram& d) = 0;
  // Sends whatever is queued now.
  virtual void flush() = 0;
  // Replaces the receiver (empty: received datagrams are dropped and counted).
  virtual void set_receiver(Receiver r) = 0;
  // Whether `src` can be used as a source address (UdpSocketsIo: one of its bound
  // addresses; RawPrefixIo: any address in its prefix).
  virtual bool can_send_from(const IpPort& src) const = 0;
  virtual PacketIoStats stats() const = 0;
  virtual std::string name() const = 0;  // "udp-sockets", "raw-prefix", for notes and logs
  // Closes everything and unregisters from the loop; later sends are counted as errors.
  virtual void close() = 0;
};

}  // namespace ist::native
