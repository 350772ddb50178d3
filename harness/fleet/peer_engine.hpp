#pragma once
// The seam between the orchestrator and whatever drives the peers: charon initiator daemons
// now (CharonFleet), the native IKEv2 engine later. Engines are asynchronous: they act on
// the caller's EventLoop and report what they see as PeerObservations through the sink.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "common/child_process.hpp"
#include "common/result.hpp"
#include "fleet/peer_tracker.hpp"

namespace ist::fleet {

class PeerEngine {
 public:
  using Sink = std::function<void(const PeerObservation&)>;
  virtual ~PeerEngine() = default;

  virtual std::string engine_name() const = 0;  // "charon", "native", "fake"
  virtual uint32_t peer_count() const = 0;
  virtual std::string peer_name(uint32_t peer) const = 0;     // "p17"
  virtual std::string peer_address(uint32_t peer) const = 0;  // IKE address
  virtual void set_sink(Sink sink) = 0;

  // Starts an attempt (never blocks; results arrive through the sink).
  virtual void initiate(uint32_t peer) = 0;
  // Tears a peer's SAs down (never blocks).
  virtual void terminate(uint32_t peer) = 0;
  // How long an attempt may take before the harness stops waiting: the engine's own
  // retransmission budget plus a margin.
  virtual std::chrono::milliseconds attempt_timeout() const = 0;

  // False (with the reason) when a daemon behind the engine died.
  virtual bool healthy(std::string* why) = 0;
  // CPU seconds and peak RSS of the engine's processes (summed).
  virtual ProcessUsage usage() = 0;
  virtual Status stop() = 0;
};

}  // namespace ist::fleet
