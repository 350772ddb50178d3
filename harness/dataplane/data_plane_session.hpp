#pragma once
// One run's data plane: the DataPlane (flows + faults, peer side) and the DataSink (SUT
// side), driven by the run's hold phases. At each hold start it picks the peers that send
// (those with a CHILD_SA then, lowest indices first), starts their flows for the traffic
// window (the hold less a drain for the last echoes, or the traffic duration if shorter),
// and injects the configured faults: bad_spi and replay half-way through the window,
// after_expiry near its end (it needs an SA that was rekeyed away or deleted by then). At
// each hold end the flows stop. Below the run layer: no scenario, no report types.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "dataplane/data_plane.hpp"
#include "dataplane/data_plane_sink.hpp"

namespace ist::fleet {

struct TrafficSpec {
  std::optional<uint32_t> peer_count;  // set: this many of the established peers
  double peer_share = 1.0;             // otherwise this share of them (rounded, at least 1)
  double rate_per_s = 10;              // per tunnel
  size_t size = 200;                   // inner UDP payload bytes
  std::optional<std::chrono::milliseconds> duration;  // per hold; unset: the whole hold less the drain
  std::array<uint64_t, kProbeKinds> faults{};         // per hold phase, by ProbeKind (normal unused)
};

struct DataPlaneSessionOptions {
  TrafficSpec spec;
  uint32_t peers = 0;
  DataPlaneOptions plane;  // endpoints, child_of, sink address and port
  // Opens a UDP socket where the SUT's protected-subnet address lives (the SUT namespace).
  std::function<Result<unique_fd>()> open_sink_socket;
  // Instead of open_sink_socket: the sink runs elsewhere (the vm backend's guest) and this
  // reads what it counted so far (cumulative); read at each hold's end.
  std::function<Result<SinkTally>()> read_remote_sink;
  // The SUT side's UDP RcvbufErrors (/proc/net/snmp), read at each hold's start and end:
  // where probes are lost when the SUT's sockets overflow. Empty: not read.
  std::function<Result<uint64_t>()> sut_rcvbuf_errors;
};

struct FaultTally {
  uint64_t injected = 0, not_injectable = 0;
  std::vector<std::string> reasons;  // the first few reasons a fault could not be made
};

class DataPlaneSession {
 public:
  static Result<std::unique_ptr<DataPlaneSession>> open(EventLoop& loop, native::PacketIo& io,
                                                        DataPlaneSessionOptions options);
  ~DataPlaneSession();

  // A peer was established (its attempt's first CHILD_SA up; the attempt began at
  // `initiated`). The peers the traffic sends from (the lowest indices: traffic peer_count,
  // or peer_share of all peers) send one probe at once, their first packet, each peer once
  // per run; from `initiated` to the first probe back is its time to first packet.
  void tunnel_up(uint32_t peer, MonoTime initiated);
  struct FirstPacket {
    uint32_t peer = 0;
    MonoTime initiated{};
    std::optional<MonoTime> first_echo;  // the first probe of any kind back through the tunnel
  };
  std::vector<FirstPacket> first_packets() const;

  void hold_started(std::chrono::milliseconds hold);
  void hold_ended();

  const DataPlane& plane() const { return *plane_; }
  DataPlane& plane() { return *plane_; }
  // What the sink counted (the remote sink's: as of the last hold end).
  const SinkTally& sink() const { return sink_ ? sink_->tally() : remote_tally_; }
  const FaultTally& faults(ProbeKind k) const { return tally_[static_cast<size_t>(k)]; }
  // What happened, for the run's notes (peers picked, windows, refusals).
  const std::vector<std::string>& notes() const { return notes_; }
  // Closes the sink socket (before the SUT namespace goes away).
  void close();
  // UDP receive-buffer overflows on the SUT side during the holds (nullopt: not read).
  std::optional<uint64_t> sut_rcvbuf_errors() const { return rcvbuf_errors_; }

 private:
  DataPlaneSession(EventLoop& loop, DataPlaneSessionOptions o) : loop_(loop), opts_(std::move(o)) {}
  void inject_all(ProbeKind kind);

  EventLoop& loop_;
  DataPlaneSessionOptions opts_;
  std::unique_ptr<DataPlane> plane_;
  std::unique_ptr<DataSink> sink_;
  SinkTally remote_tally_;
  bool in_hold_ = false;
  std::vector<uint32_t> senders_;
  std::vector<EventLoop::TimerId> fault_timers_;
  std::array<FaultTally, kProbeKinds> tally_{};
  std::vector<std::string> notes_;
  unsigned holds_ = 0;
  std::vector<std::pair<uint32_t, MonoTime>> first_sent_;  // peer, its initiate; in send order
  std::vector<bool> first_done_;                           // by peer
  uint64_t first_not_sent_ = 0;
  std::optional<uint64_t> rcvbuf_at_start_, rcvbuf_errors_;
};

}  // namespace ist::fleet
