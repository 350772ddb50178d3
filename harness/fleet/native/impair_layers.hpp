#pragma once
// The impairment and flood decorators for one run of the native engine, made from the
// scenario's peers.impair / peers.flood (typed by the validator, mapped to these types by
// run/native_impair.hpp) and plugged in through NativeFleetOptions::wrap_io:
// engine -> FloodIo -> ImpairedIo -> the real packet layer.
// Floods sit outside the impairments, so the rules act on the peers' traffic only.
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "common/event_loop.hpp"
#include "fleet/native/flood.hpp"
#include "fleet/native/impaired_io.hpp"

namespace ist::native {

struct ImpairLayerOptions {
  std::vector<ImpairRule> rules;
  uint64_t seed = 1;
  std::vector<FloodSpec> floods;
  std::vector<IpPort> peer_addresses;  // peer i's IKE address (any port)
  IpPort sut;                          // the SUT's IKE address
  IkeProposalConfig ike;               // what flood IKE_SA_INITs offer
  std::function<Status(const std::function<Status()>&)> run_in;  // the peers namespace
};

class ImpairLayers {
 public:
  // Checks rules and floods now, so a bad one fails before anything starts.
  static Result<std::shared_ptr<ImpairLayers>> make(EventLoop& loop, ImpairLayerOptions options);

  // Wraps the engine's packet layer (NativeFleetOptions::wrap_io). Called once.
  std::unique_ptr<PacketIo> wrap(std::unique_ptr<PacketIo> inner);
  // What each rule and flood did (for the run's notes); valid while the engine lives.
  std::vector<std::string> summary() const;
  // The floods' window (FloodIo::window); nullopt without floods or before any started.
  std::optional<std::pair<MonoTime, MonoTime>> flood_window() const;

 private:
  ImpairLayers(EventLoop& loop, ImpairLayerOptions options) : loop_(loop), opts_(std::move(options)) {}
  std::optional<uint32_t> peer_of(const IpPort& a) const;

  EventLoop& loop_;
  ImpairLayerOptions opts_;
  std::optional<ImpairPlan> plan_;
  std::vector<std::pair<std::array<uint8_t, 16>, uint32_t>> by_address_;  // sorted
  ImpairedIo* impaired_ = nullptr;  // owned by the engine's io chain
  FloodIo* flood_ = nullptr;
};

}  // namespace ist::native
