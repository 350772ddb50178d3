#pragma once
// The native peer engine: N ist::native::Initiator state machines in this process, all on
// the caller's EventLoop. Peer i owns two UDP sockets bound to its IKE address on ports 500
// and 4500 (made inside the peers namespace through `run_in`; sockets stay in the namespace
// they were made in). The engine feeds datagrams to the initiators, sends what they produce
// to the SUT, keeps one retransmit timer per peer, and starts CHILD and IKE rekeys on the
// configured schedule. PSK authentication only.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "charon/conn_spec.hpp"
#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "fleet/native/initiator.hpp"
#include "fleet/peer_engine.hpp"
#include "fleet/peer_plan.hpp"

namespace ist::fleet {

struct NativeFleetOptions : PeerPlan {
  // Runs fn on a thread inside the peers namespace (netns::Namespace::run_in); empty: this
  // process's namespace (unit tests on loopback). ike/child: rekey_time (0 = never) and
  // rand_time are used.
  std::function<Status(const std::function<Status()>&)> run_in;
  // The harness's initiator defaults (run_point.hpp): 3 retransmits from 2 s, base 1.8.
  native::RetransmitPolicy retransmit{native::Millis(2000), 1.8, 3};
};

// The scenario's strongSwan proposal strings as native suites; an Error names what is not
// supported (one IKE proposal with any of x25519/ecp256/modp2048; AES-CBC with sha256, or
// AES-GCM-16; prfsha256 only; no PFS group in ESP proposals).
Result<native::IkeProposalConfig> native_ike_proposal(const std::vector<std::string>& proposals);
Result<native::EspProposalConfig> native_esp_proposal(const std::vector<std::string>& proposals);

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
  uint64_t datagrams_sent() const { return sent_; }
  uint64_t datagrams_received() const { return received_; }
  uint64_t send_errors() const { return send_errors_; }

 private:
  struct Peer {
    std::unique_ptr<native::Initiator> ini;
    unique_fd sock_ike, sock_natt;
    EventLoop::TimerId retransmit_timer = 0, child_rekey_timer = 0, ike_rekey_timer = 0, terminate_timer = 0;
    bool ike_up = false, child_up = false, terminating = false;
    uint64_t generation = 0;  // bumped by initiate: a sink may re-initiate while we handle events
  };
  NativeFleet(EventLoop& loop, NativeFleetOptions options);
  Status open_sockets();
  native::InitiatorConfig config_for(uint32_t peer) const;
  native::Millis now_ms() const;
  void on_readable(uint32_t peer, bool natt);
  void pump(uint32_t peer);
  void handle(uint32_t peer, const native::InitiatorEvent& e);
  void schedule_child_rekey(uint32_t peer);
  void schedule_ike_rekey(uint32_t peer);
  void try_rekey(uint32_t peer, bool child);
  void try_delete(uint32_t peer, int attempts_left);
  void cancel_timers(Peer& p);
  void report_down(uint32_t peer, const std::string& why);
  std::chrono::milliseconds with_jitter(std::chrono::seconds rekey, std::chrono::seconds rand);
  void emit(PeerObservation::Kind kind, uint32_t peer, std::string detail = {});

  EventLoop& loop_;
  NativeFleetOptions opts_;
  native::IkeProposalConfig ike_suite_;
  native::EspProposalConfig esp_suite_;
  native::Bytes sut_addr_;
  std::vector<native::TrafficSelector> remote_ts_;
  MonoTime origin_;
  std::vector<Peer> peers_;
  Sink sink_;
  std::chrono::milliseconds attempt_timeout_{0};
  uint64_t sent_ = 0, received_ = 0, send_errors_ = 0;
  uint64_t jitter_state_ = 0x9e3779b97f4a7c15ull;
  bool stopped_ = false;
};

}  // namespace ist::fleet
