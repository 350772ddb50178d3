#pragma once
// The far end of the data plane: one UDP socket at the SUT's protected-subnet address, in the
// SUT's namespace, on the run's EventLoop. It counts what arrives per tunnel (by the probe
// tag; the source address must be that tunnel's inner address) and echoes normal probes back
// to their source, so the SUT's IPsec stack carries them back through the same tunnel.
// Induced faults that arrive are counted, never echoed: each one is a fault the SUT let
// through. The same sink runs inside the vm backend's guest (`ikestorm udp-echo`), which
// hands its SinkTally back as JSON.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/event_loop.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "dataplane/data_plane_probe.hpp"

namespace ist::fleet {

struct SinkCounts {
  uint64_t received = 0;  // normal probes
  uint64_t echoed = 0;    // normal probes sent back
  std::array<uint64_t, kProbeKinds> faults{};  // induced faults that got through, by ProbeKind
};

// Everything a sink counted: per tunnel (by the probe's peer index) and in total.
struct SinkTally {
  std::vector<SinkCounts> peers;
  SinkCounts total;
  uint64_t misrouted = 0;     // a probe from another address than its tunnel's
  uint64_t unrecognized = 0;  // not a probe at all
  uint64_t echo_errors = 0;
  SinkCounts peer(uint32_t p) const { return p < peers.size() ? peers[p] : SinkCounts{}; }
};

// {"total":{...},"peers":{"<index>":{"received":..,"echoed":..,"faults":{"bad_spi":..}}},..}
// (tunnels that saw nothing are left out).
std::string sink_tally_json(const SinkTally& t);
Result<SinkTally> parse_sink_tally(std::string_view json);

class DataSink {
 public:
  // `inner_source(peer)` is the IPv4 address (network order) tunnel `peer` sends from; a
  // probe from elsewhere counts as misrouted (empty: not checked). `bound` is a UDP socket already bound (made in
  // the SUT namespace by the caller).
  // `echo` false: count only (the trap traffic of charon peers, which no one waits for).
  static Result<std::unique_ptr<DataSink>> open(EventLoop& loop, unique_fd bound,
                                                std::function<std::array<uint8_t, 4>(uint32_t)> inner_source,
                                                bool echo = true);
  ~DataSink();
  DataSink(const DataSink&) = delete;
  DataSink& operator=(const DataSink&) = delete;

  const SinkTally& tally() const { return tally_; }
  SinkCounts peer(uint32_t p) const { return tally_.peer(p); }
  SinkCounts total() const { return tally_.total; }
  uint64_t misrouted() const { return tally_.misrouted; }
  uint64_t unrecognized() const { return tally_.unrecognized; }
  uint64_t echo_errors() const { return tally_.echo_errors; }
  void close();

 private:
  DataSink(EventLoop& loop, unique_fd fd, std::function<std::array<uint8_t, 4>(uint32_t)> inner_source, bool echo)
      : loop_(loop), fd_(std::move(fd)), inner_source_(std::move(inner_source)), echo_(echo) {}
  void on_readable();

  EventLoop& loop_;
  unique_fd fd_;
  std::function<std::array<uint8_t, 4>(uint32_t)> inner_source_;
  SinkTally tally_;
  bool echo_ = true;
};

// Binds a UDP socket to an IPv4 address and port (with a receive buffer for bursts).
Status bind_udp4(int fd, const std::array<uint8_t, 4>& address, uint16_t port);

}  // namespace ist::fleet
