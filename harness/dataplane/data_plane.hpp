#pragma once
// The data plane of the native engine: UDP flows through each peer's CHILD_SA at a set packet
// rate, ESP in userspace (esp.hpp) over the engine's PacketIo (ESP in UDP on port 4500,
// RFC 3948: no marker, the datagram starts with the SPI), and induced faults. Inner packets go
// from the peer's inner address (its negotiated TSi) to the sink at the SUT's protected-subnet
// address (data_plane_sink.hpp), which echoes them back; the echoes come back as ESP and are
// counted here. Counts per tunnel: sent, refused by our decapsulation (by reason), echoes
// received. Everything runs on the one EventLoop the PacketIo was made with.
//
// Wiring: NativeFleet::set_esp_receiver(...) hands this class the ESP datagrams it receives
// (on_esp); child_of(peer) reads the CHILD_SA's keys from the initiator (Initiator::child()).
// The data plane keeps its own copy of each SA it used, so a peer's SA that was rekeyed away
// or deleted can still be used to send "after expiry" faults.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "dataplane/data_plane_probe.hpp"
#include "fleet/native/packet_io.hpp"
#include "ike/esp.hpp"
#include "ike/initiator.hpp"

namespace ist::fleet {

using Fault = ProbeKind;  // bad_spi, replay, after_expiry (normal is not a fault)

struct DataPlaneOptions {
  // Where the peers' IKE endpoints are: ESP in UDP goes from peer_endpoint(p):4500 to
  // sut_endpoint:4500.
  std::function<native::IpPort(uint32_t peer)> peer_endpoint;
  native::IpPort sut_endpoint;
  // The CHILD_SA of a peer now (nullptr: none). Read at every send and on unknown SPIs.
  std::function<const native::ChildSa*(uint32_t peer)> child_of;
  std::array<uint8_t, 4> sink_address{};  // the SUT's protected-subnet address
  uint16_t sink_port = 5001;
  uint16_t source_port = 5001;  // the inner UDP source port on the peer side
  uint32_t replay_window = 64;  // our inbound window
};

struct TunnelCounts {
  uint64_t sent = 0;      // normal probes handed to the packet layer
  uint64_t not_sent = 0;  // due while the tunnel had no CHILD_SA, no UDP encapsulation, or
                          // encapsulation failed
  uint64_t received = 0;  // echoes decapsulated and recognized as this tunnel's
  uint64_t dropped = 0;   // ESP for this peer we refused (sum of the reasons below)
  uint64_t dropped_unknown_spi = 0, dropped_replay = 0, dropped_integrity = 0, dropped_malformed = 0,
           dropped_inner = 0;  // inner packet not an echo probe of this tunnel
  std::array<uint64_t, kProbeKinds> injected{};  // faults sent, by ProbeKind
  TunnelCounts& operator+=(const TunnelCounts& o);
};

class DataPlane {
 public:
  DataPlane(EventLoop& loop, native::PacketIo& io, DataPlaneOptions options);
  ~DataPlane();
  DataPlane(const DataPlane&) = delete;
  DataPlane& operator=(const DataPlane&) = delete;

  // Starts flows on `peers` (each `rate_per_s` probes of `size` UDP payload bytes) for
  // `duration`; peers already flowing keep their counts. An Error for a bad rate or size.
  Status start(const std::vector<uint32_t>& peers, double rate_per_s, size_t size, std::chrono::milliseconds duration);
  // Stops sending (echoes still in flight are still counted when they arrive).
  void stop();
  bool sending() const { return tick_timer_ != 0; }

  // One normal probe on `peer`'s tunnel now (its first packet, as its CHILD_SA comes up),
  // counted like the flows' probes. An Error says why it could not be sent.
  Status send_now(uint32_t peer);
  // When the first echo came back through `peer`'s tunnel (nullopt: none yet).
  std::optional<MonoTime> first_echo_at(uint32_t peer) const;

  // One induced fault on `peer`'s tunnel, now:
  //   bad_spi       a probe sealed with the peer's keys under an SPI no SA of it has;
  //   replay        a probe under the current SA with the sequence number of the last packet
  //                 already sent on it (a fresh random IV, so only the number repeats);
  //   after_expiry  a probe on the oldest SA of the peer's that is gone (rekeyed away or
  //                 deleted; the oldest, because a SUT keeps a rekeyed inbound SA a while:
  //                 strongSwan's charon.delete_rekeyed_delay, 5 s by default), with its next
  //                 sequence number.
  // An Error says why it cannot be made (no SA, nothing sent yet, no SA has gone yet).
  Status inject(Fault kind, uint32_t peer);

  // The engine's ESP datagrams for `peer` (port 4500, first four bytes a non-zero SPI).
  void on_esp(uint32_t peer, const native::PacketDatagram& d);

  TunnelCounts counts(uint32_t peer) const;
  TunnelCounts total() const;
  // Peers that ever had a flow, in index order.
  std::vector<uint32_t> tunnels() const;
  // Why the last probe that was due could not be sent (empty: none failed).
  const std::string& last_send_error() const { return last_send_error_; }

 private:
  struct OutSa {
    uint32_t spi = 0;
    native::EspKeys keys;
    uint32_t next_seq = 1;
  };
  struct InSa {
    uint32_t spi = 0;
    native::EspKeys keys;
    native::ReplayWindow window;
  };
  struct Tunnel {
    bool flowing = false;
    double phase = 0;       // spreads the tunnels' packets over each period
    uint64_t due_done = 0;  // probes due so far (sent or not)
    std::optional<OutSa> out;
    std::vector<OutSa> retired;  // SAs we stopped using, oldest first (a few kept)
    std::vector<InSa> in;  // newest last, a few kept for late echoes on replaced SAs
    std::array<uint8_t, 4> inner{};  // our inner address (TSi start)
    std::array<uint64_t, kProbeKinds> numbers{};  // next probe number per kind
    TunnelCounts counts;
    std::optional<MonoTime> first_echo_at;
  };

  Tunnel& tunnel(uint32_t peer);
  void refresh(uint32_t peer, Tunnel& t);
  void tick();
  // The next normal probe on the tunnel's current SA; counted as sent or not_sent.
  Status send_normal(uint32_t peer, Tunnel& t);
  // Seals `probe` as an inner UDP packet under `sa` with `seq` (and `iv` if given) and sends it.
  Status send_probe(uint32_t peer, Tunnel& t, const OutSa& sa, uint32_t spi, uint32_t seq, const Probe& probe,
                    native::ByteView iv = {});

  EventLoop& loop_;
  native::PacketIo& io_;
  DataPlaneOptions opts_;
  std::vector<Tunnel> tunnels_;
  double rate_per_s_ = 0;
  size_t size_ = 0;
  MonoTime start_{}, end_{};
  EventLoop::TimerId tick_timer_ = 0;
  uint16_t ip_id_ = 0;
  std::string last_send_error_;
};

}  // namespace ist::fleet
