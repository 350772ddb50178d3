#pragma once
// Floods from spoofed source addresses, as a PacketIo decorator (FloodIo): everything the
// engine sends and receives passes through unchanged; the first datagram the engine sends
// (its first initiate) starts each flood's clock. A flood sends IKE_SA_INITs built by the
// native initiator itself (so the SUT accepts them and keeps a half-open IKE_SA each) from
// addresses of its source prefix, and never follows up: `half_open`; or such messages
// broken by malform_ike(): `malformed`. Sources are spoofed only inside the harness's own
// range (the caller checks the prefix; FloodIo skips the peers' own addresses). When the
// wrapped PacketIo cannot send from a source (UdpSocketsIo binds only the peers' addresses)
// FloodIo sends through a raw IPv4 socket of its own, made in the peers namespace.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <utility>
#include <string>
#include <unordered_set>
#include <vector>

#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "fleet/native/impair.hpp"
#include "fleet/native/packet_io.hpp"
#include "ike/initiator.hpp"

namespace ist::native {

struct FloodSpec {
  enum class Kind : uint8_t { half_open, malformed };
  Kind kind = Kind::half_open;
  double rate_per_s = 100;
  std::chrono::milliseconds duration{1000};
  std::chrono::milliseconds start{0};  // after the engine's first send
  std::array<uint8_t, 4> prefix{198, 19, 112, 0};  // IPv4 source prefix
  unsigned prefix_len = 20;
  MalformKind malform = MalformKind::unknown_critical;

  std::string describe() const;  // "half_open 500/s for 5000 ms from 198.19.112.0/20"
};

struct FloodOptions {
  std::vector<FloodSpec> floods;
  IpPort sut;                               // the SUT's IKE address, port 500
  std::vector<IpPort> peer_addresses;       // never used as sources
  IkeProposalConfig ike;                    // what the flood's IKE_SA_INITs offer
  // Runs fn inside the peers namespace (for the raw socket); empty: this namespace.
  std::function<Status(const std::function<Status()>&)> run_in;
};

struct FloodStats {
  uint64_t sent = 0;
  uint64_t send_errors = 0;
};

class FloodIo final : public PacketIo {
 public:
  static Result<std::unique_ptr<FloodIo>> make(EventLoop& loop, std::unique_ptr<PacketIo> inner, FloodOptions options);
  ~FloodIo() override;

  void send(const PacketDatagram& d) override;
  void flush() override { inner_->flush(); }
  void set_receiver(Receiver r) override { inner_->set_receiver(std::move(r)); }
  bool can_send_from(const IpPort& src) const override { return inner_->can_send_from(src); }
  PacketIoStats stats() const override { return inner_->stats(); }
  std::string name() const override { return inner_->name() + "+flood"; }
  void close() override;

  // Starts the floods now (also done by the first send).
  void start();
  const std::vector<FloodStats>& flood_stats() const { return stats_; }
  // From the first flood's start to the last one's planned end, over the floods that
  // started (nullopt: none did).
  std::optional<std::pair<MonoTime, MonoTime>> window() const;
  std::vector<std::string> summary() const;

 private:
  FloodIo(EventLoop& loop, std::unique_ptr<PacketIo> inner, FloodOptions options);
  void tick(size_t flood);
  Result<Bytes> message_from(const IpPort& src, const FloodSpec& spec);
  IpPort next_source(size_t flood);
  void send_spoofed(const IpPort& src, ByteView ike, FloodStats& st);

  EventLoop& loop_;
  std::unique_ptr<PacketIo> inner_;
  FloodOptions opts_;
  std::unordered_set<uint32_t> peer_v4_;  // the peers' own IPv4 addresses (host order)
  std::vector<FloodStats> stats_;
  std::vector<uint64_t> next_index_;       // per flood: next source index
  std::vector<std::optional<MonoTime>> started_at_;
  std::vector<uint64_t> due_;              // per flood: messages sent so far (rate pacing)
  std::vector<EventLoop::TimerId> timers_;
  unique_fd raw_;                          // IPPROTO_RAW socket, made on first need
  bool raw_tried_ = false;
  bool started_ = false, closed_ = false;
};

}  // namespace ist::native
