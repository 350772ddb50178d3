#pragma once
// For the impairment tests: IKE headers with chosen exchange / flags, a valid IKE_SA_INIT
// from the native initiator itself, and a recording packet layer to put below the layers.
#include "fleet/native/packet_io.hpp"
#include "ike/initiator.hpp"

#include <string>
#include <vector>

namespace ist::native::test {

inline const Bytes kPeerAddr{198, 19, 0, 1}, kSutAddr{198, 18, 0, 1};

// A minimal IKE message: header only (no payloads), optionally behind a non-ESP marker.
inline Bytes ike_header(ExchangeType ex, bool response, uint32_t mid, bool marker = false) {
  Bytes b;
  if (marker) put_u32(b, 0);
  put_u64(b, 0x1111222233334444ull);
  put_u64(b, response ? 0x5555666677778888ull : 0);
  put_u8(b, 0);     // next payload: none
  put_u8(b, 0x20);  // version 2.0
  put_u8(b, static_cast<uint8_t>(ex));
  put_u8(b, static_cast<uint8_t>(response ? flags::response : flags::initiator));
  put_u32(b, mid);
  put_u32(b, 28);
  return b;
}

// A datagram from the SUT to the peer (in) or from the peer to the SUT (out).
inline PacketDatagram datagram(const Bytes& payload, bool out, uint16_t port = ike_port,
                               const Bytes& peer = kPeerAddr) {
  IpPort p = IpPort::of(peer, port), s = IpPort::of(kSutAddr, port);
  return out ? PacketDatagram{p, s, ByteView(payload)} : PacketDatagram{s, p, ByteView(payload)};
}

// The IKE_SA_INIT the native initiator sends first (no marker).
inline Bytes real_ike_sa_init() {
  InitiatorConfig c;
  c.local = Endpoint{kPeerAddr, ike_port};
  c.remote = Endpoint{kSutAddr, ike_port};
  c.psk = to_bytes("secret");
  c.local_id = IdPayload{id_type::fqdn, to_bytes("peer0")};
  c.ts_local = {TrafficSelector{.start_address = kPeerAddr, .end_address = kPeerAddr}};
  c.ts_remote = {TrafficSelector{.start_address = kSutAddr, .end_address = kSutAddr}};
  Initiator ini(c);
  if (!ini.start(Millis(0))) return {};
  auto out = ini.take_outgoing();
  return out.empty() ? Bytes{} : out.front().payload;
}

// A packet layer that records what is sent (from any source address) and plays received
// batches with inject(): the wire below the impairment and flood layers in their tests.
class RecordingIo final : public PacketIo {
 public:
  struct Sent {
    IpPort src, dst;
    Bytes payload;
  };
  void send(const PacketDatagram& d) override { sent.push_back({d.src, d.dst, Bytes(d.payload.begin(), d.payload.end())}); }
  void flush() override { ++flushes; }
  void set_receiver(Receiver r) override { receiver = std::move(r); }
  bool can_send_from(const IpPort&) const override { return true; }
  PacketIoStats stats() const override { return {sent.size(), 0, 0, 0}; }
  std::string name() const override { return "fake"; }
  void close() override { closed = true; }
  void inject(const std::vector<PacketDatagram>& batch) {
    if (receiver) receiver(batch);
  }
  std::vector<Sent> sent;
  Receiver receiver;
  int flushes = 0;
  bool closed = false;
};

}  // namespace ist::native::test
