#pragma once
// The native peer engine: N ist::native::Initiator state machines in this process, all on
// the caller's EventLoop. All datagrams go through one native::PacketIo (packet_io.hpp):
// by default UdpSocketsIo, two UDP sockets per peer bound to its IKE address on ports 500
// and 4500 inside the peers namespace (`run_in`); options.make_io picks another layer
// (RawPrefixIo: one socket layer for the whole routed peer prefix). Received datagrams go
// to the initiator owning their destination address. The engine sends what the initiators
// produce to the SUT, keeps each peer's retransmit, rekey and delete timers in one
// TimerWheel (no allocation per timer), and starts CHILD and IKE rekeys on the configured
// schedule. PSK authentication only.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "charon/conn_spec.hpp"
#include "common/event_loop.hpp"
#include "fleet/native/packet_io.hpp"
#include "fleet/native/timer_wheel.hpp"
#include "fleet/native/udp_sockets_io.hpp"
#include "fleet/peer_engine.hpp"
#include "fleet/peer_plan.hpp"
#include "ike/initiator.hpp"

namespace ist::fleet {

struct NativeFleetOptions : PeerPlan {
  // Runs fn on a thread inside the peers namespace (netns::Namespace::run_in); empty: this
  // process's namespace (unit tests on loopback). ike/child: rekey_time (0 = never) and
  // rand_time are used.
  native::NamespaceRunner run_in;
  // The packet layer for the peers' IKE addresses (all of one family); empty: UdpSocketsIo
  // on every address, ports 500 and 4500, made through run_in.
  std::function<Result<std::unique_ptr<native::PacketIo>>(EventLoop&, const std::vector<native::IpPort>& peer_addresses)>
      make_io;
  // Wraps the layer made above (impairments, taps); empty: used as made.
  std::function<std::unique_ptr<native::PacketIo>(std::unique_ptr<native::PacketIo>)> wrap_io;
  // Setups in flight at once (IKE_SA_INIT sent, CHILD_SA not yet up); further initiates
  // wait in arrival order (0: no limit). A burst of thousands of IKE_SA_INITs from one
  // packet layer overflows the SUT's socket buffer (the charon fleet paces itself through
  // its own CPU cost); the retransmits that follow cost 2 s each. 1,000 burst peers here:
  // 256 in flight -> 438 setups/s (p99 2.3 s, retransmits), 64 -> 1,285-1,625/s (p99 < 0.8 s).
  // Teardown deletes share the window for the same reason: 1,000 INFORMATIONAL deletes in one
  // burst lost a quarter of them, whose retransmits (2, 3.6, 6.5 s) outlived short CHILD_SA
  // lifetimes on the SUT.
  uint32_t max_setups_in_flight = 64;
  // The harness's initiator defaults (run_point.hpp): 3 retransmits from 2 s, base 1.8.
  native::RetransmitPolicy retransmit{native::Millis(2000), 1.8, 3};
};

// The scenario's strongSwan proposal strings as native suites; an Error names what is not
// supported (one IKE proposal with any of x25519/ecp256/modp2048; AES-CBC with sha256, or
// AES-GCM-16; prfsha256 only; no PFS group in ESP proposals).
Result<native::IkeProposalConfig> native_ike_proposal(const std::vector<std::string>& proposals);
Result<native::EspProposalConfig> native_esp_proposal(const std::vector<std::string>& proposals);

// An identity string typed as charon types one: an IPv4 or IPv6 address (ID_IPV4_ADDR,
// ID_IPV6_ADDR), user@host as an RFC 822 address, "@name" as the FQDN name, anything else as
// an FQDN.
native::IdPayload native_identity(const std::string& id);
// "198.18.255.0/24", "2001:2:0:ff::/64" or a bare address as an address-range selector
// (TS_IPV4_ADDR_RANGE or TS_IPV6_ADDR_RANGE, all protocols and ports).
Result<native::TrafficSelector> native_selector(const std::string& text);

class NativeFleet final : public PeerEngine {
 public:
  // Checks the options, makes and binds every peer's sockets, registers them on `loop`.
  static Result<std::unique_ptr<NativeFleet>> start(EventLoop& loop, NativeFleetOptions options);
  ~NativeFleet() override;

  std::string engine_name() const override { return "native"; }
  uint32_t peer_count() const override { return opts_.peers; }
  std::string peer_name(uint32_t peer) const override;
  std::string peer_address(uint32_t peer) const override { return opts_.ike_address(peer); }
  void set_sink(Sink sink) override { sink_ = std::move(sink); }
  // ESP datagrams for a peer (port 4500, a non-zero SPI first, RFC 3948) go here instead of to
  // its initiator, which only takes IKE: the data plane (data_plane.hpp). Empty: dropped.
  using EspReceiver = std::function<void(uint32_t peer, const native::PacketDatagram&)>;
  void set_esp_receiver(EspReceiver r) { esp_receiver_ = std::move(r); }
  void initiate(uint32_t peer) override;
  void terminate(uint32_t peer) override;
  std::chrono::milliseconds attempt_timeout() const override { return attempt_timeout_; }
  bool healthy(std::string*) override { return true; }  // no daemon that could die
  // The native peers run inside this process: their CPU and memory are the harness's own
  // and the run reports them as harness usage, so the engine reports none of its own.
  ProcessUsage usage() override { return {}; }
  Status stop() override;

  // The initiator of a peer (nullptr before its first initiate), for tests and statistics.
  const native::Initiator* initiator(uint32_t peer) const;
  uint64_t datagrams_sent() const { return io_ ? io_->stats().sent : 0; }
  uint64_t datagrams_received() const { return received_; }
  uint64_t send_errors() const { return io_ ? io_->stats().send_errors : 0; }
  // The packet layer in use (its name() goes into the run's notes).
  native::PacketIo& io() { return *io_; }

 private:
  struct Peer {
    std::unique_ptr<native::Initiator> ini;
    bool ike_up = false, child_up = false, terminating = false;
    bool delete_sent = false;    // the terminate timer bounds a delete in flight
    bool in_flight = false;      // counted in exchanges_in_flight_ (a setup or a delete)
    bool waiting = false;        // in waiting_ for a setup slot
    bool delete_waiting = false; // in delete_waiting_ for a slot to send its delete
    uint8_t delete_retries = 0;  // otherwise it retries try_delete while a request is in flight
    uint64_t generation = 0;  // bumped by initiate: a sink may re-initiate while we handle events
    std::optional<MonoTime> child_rekey_sent;  // our CHILD rekey in flight: when it was requested
  };
  NativeFleet(EventLoop& loop, NativeFleetOptions options);
  Status open_io();
  native::InitiatorPeerConfig config_for(uint32_t peer) const;
  native::Millis now_ms() const;
  std::optional<uint32_t> peer_of(const native::IpPort& local) const;
  void on_datagrams(std::span<const native::PacketDatagram> batch);
  void pump(uint32_t peer);
  void handle(uint32_t peer, const native::InitiatorEvent& e);
  void schedule_rekey(uint32_t peer, bool child);
  void end_attempt(uint32_t peer, const std::string& why, FailureKind kind, const char* exchange = nullptr);
  void start_attempt(uint32_t peer);
  void exchange_done(Peer& p);
  void try_rekey(uint32_t peer, bool child);
  void try_delete(uint32_t peer, int attempts_left);
  // Each peer's timers live in timers_ as peer * kTimerKinds + kind.
  enum TimerKind : uint32_t { retransmit_timer, child_rekey_timer, ike_rekey_timer, terminate_timer, kTimerKinds };
  static uint32_t timer_id(uint32_t peer, TimerKind k) { return peer * kTimerKinds + k; }
  void on_timer(uint32_t id);
  void cancel_timers(uint32_t peer);
  void report_down(uint32_t peer, const std::string& why);
  std::chrono::milliseconds with_jitter(std::chrono::seconds rekey, std::chrono::seconds rand);
  void emit(PeerObservation::Kind kind, uint32_t peer, std::string detail = {},
            FailureKind failure = FailureKind::evidence, const char* exchange = nullptr);

  EventLoop& loop_;
  NativeFleetOptions opts_;
  native::IkeProposalConfig ike_suite_;
  native::EspProposalConfig esp_suite_;
  native::Bytes sut_addr_;
  // What all initiators share (SUT endpoint, suites, PSK, SUT identity, its selectors).
  std::shared_ptr<const native::InitiatorShared> shared_;
  MonoTime origin_;
  std::vector<Peer> peers_;
  std::unique_ptr<native::TimerWheel> timers_;
  uint32_t exchanges_in_flight_ = 0;
  std::deque<uint32_t> waiting_;  // initiated peers waiting for a setup slot
  std::deque<uint32_t> delete_waiting_;  // terminated peers waiting for a slot (served first)
  bool window_full() const {
    return opts_.max_setups_in_flight && exchanges_in_flight_ >= opts_.max_setups_in_flight;
  }
  std::vector<native::IpPort> peer_addrs_;                      // peer i's IKE address (port 0)
  std::vector<std::pair<std::array<uint8_t, 16>, uint32_t>> by_address_;  // sorted: address -> peer
  std::unique_ptr<native::PacketIo> io_;
  Sink sink_;
  EspReceiver esp_receiver_;
  std::chrono::milliseconds attempt_timeout_{0};
  uint64_t received_ = 0;
  uint64_t jitter_state_ = 0x9e3779b97f4a7c15ull;
  bool stopped_ = false;
};

}  // namespace ist::fleet
