#pragma once
// The charon peer engine: N peers spread over K initiator charons in the peers namespace,
// each daemon with its own private /run, vici socket and IKE ports (several charons share
// one namespace, so each listens on its own port pair). Peer i is connection "p<i>" on
// daemon i % K, with its own IKE address, inner address and identity. Everything is
// asynchronous on the caller's EventLoop: initiate uses vici's timeout = -1 (never the
// blocking form, which holds a charon worker per call and deadlocks a loaded daemon).
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/instance.hpp"
#include "charon/settings.hpp"
#include "common/event_loop.hpp"
#include "common/unique_fd.hpp"
#include "common/run_state.hpp"
#include "fleet/peer_engine.hpp"
#include "fleet/peer_plan.hpp"
#include "vici/session.hpp"

namespace ist::fleet {

struct CharonFleetOptions : PeerPlan {
  uint32_t daemons = 1;
  std::string netns;     // the peers namespace
  std::string work_dir;  // daemon d keeps its files in <work_dir>/peers-<d>
  std::string socket_dir;  // where vici sockets go when not in the work dir ("" = work dir)
  RunState* state = nullptr;
  charon::CharonSettings settings;  // role initiator; port keys are set per daemon
  uint16_t first_port = 20000;  // daemon d: IKE port first_port + 2d, NAT-T port + 1
  // Certificates / EAP secrets (peers.auth other than psk): each daemon gets its own peers'.
  const charon::AuthMaterial* auth = nullptr;
  // Peer i's connection when not the built-in one (a user's gateway config derives them).
  std::function<charon::ConnSpec(uint32_t)> make_conn;
  // Trap start (scenario peers.start_action: trap): every CHILD config loads with
  // start_action = trap, so charon installs trap policies (settings.backend must be xfrm,
  // i.e. kernel-netlink, for them to be the kernel's), and initiate(peer) sends one UDP
  // datagram from the peer's inner address to trap_target:trap_port instead of a vici
  // initiate; the kernel's ACQUIRE for it makes charon start the IKE_SA. run_in enters the
  // peers namespace, where the sending socket is opened.
  bool trap = false;
  std::string trap_target = "198.18.255.1";
  uint16_t trap_port = 9;  // discard; the datagram never leaves without an SA
  std::function<Status(const std::function<Status()>&)> run_in;
  // Trap traffic (scenario peers.trap_traffic): from its initiate until its terminate, each
  // peer sends trap_traffic_per_s datagrams per second from its inner address through its
  // kernel policy to trap_target:trap_port, the payload made by trap_payload(peer, n) (n from
  // 0; the first one is the trigger). 0 = the one trigger datagram only.
  double trap_traffic_per_s = 0;
  std::function<std::vector<uint8_t>(uint32_t peer, uint64_t n)> trap_payload;
};

// What the trap traffic sent per peer: datagrams the kernel took (sent) and those whose send
// failed (EAGAIN: a full per-policy hold queue when net.core.xfrm_larval_drop is 0).
struct TrapTrafficCounts {
  uint64_t sent = 0;
  uint64_t send_errors = 0;
};

// Peer i's IKE identity (the one format, shared with the authentication material).
using charon::peer_identity;

class CharonFleet final : public PeerEngine {
 public:
  // Starts the daemons, subscribes to their events, loads the secret and every peer's
  // connection (pipelined). Returns when all are loaded.
  static Result<std::unique_ptr<CharonFleet>> start(EventLoop& loop, CharonFleetOptions options);
  ~CharonFleet() override;

  std::string engine_name() const override { return "charon"; }
  uint32_t peer_count() const override { return opts_.peers; }
  std::string peer_name(uint32_t peer) const override;
  std::string peer_address(uint32_t peer) const override { return opts_.ike_address(peer); }
  void set_sink(Sink sink) override { sink_ = std::move(sink); }
  void initiate(uint32_t peer) override;
  void terminate(uint32_t peer) override;
  std::chrono::milliseconds attempt_timeout() const override { return attempt_timeout_; }
  bool healthy(std::string* why) override;
  ProcessUsage usage() override;
  Status stop() override;

  // The connection a peer uses (for the run folder's swanctl.conf rendering).
  charon::ConnSpec conn_for(uint32_t peer) const;
  double load_seconds() const { return load_seconds_; }
  // Per peer (index), with peers.trap_traffic; empty without.
  const std::vector<TrapTrafficCounts>& trap_traffic() const { return trap_counts_; }
  // The first failed trap-traffic send after a peer's trigger: "<src> -> <dst>: <strerror>".
  const std::string& trap_traffic_first_error() const { return trap_first_error_; }
  const std::vector<std::string>& daemon_logs() const { return daemon_logs_; }

 private:
  struct Daemon {
    charon::Instance instance;
    std::unique_ptr<vici::Session> session;
    ProcessUsage last_usage;
    // The liveness ping (healthy()): a `version` request in flight since ping_sent, and the
    // daemon's CPU seconds then. Silent and idle for kHungAfter is a hung daemon.
    bool ping_in_flight = false;
    MonoTime ping_sent{};
    double cpu_at_ping = 0;
  };
  // A daemon that answers no vici request for this long while spending next to no CPU is
  // hung (a deadlock inside charon: its peers' attempts would only time out, and read as
  // the SUT's silence).
  static constexpr std::chrono::seconds kHungAfter{10};
  static constexpr double kHungCpuBudget = 0.2;  // CPU seconds over kHungAfter: 2% of a core
  static std::string hang_evidence(const Daemon& d);
  CharonFleet(EventLoop& loop, CharonFleetOptions options);
  Daemon& daemon_of(uint32_t peer) { return daemons_[peer % daemons_.size()]; }
  charon::ConnSpec builtin_conn(uint32_t peer) const;
  void emit(PeerObservation o);
  Status open_trap_socket();
  Status start_daemons();
  Status subscribe_log_events(const vici::Session::EventHandler& forward);
  // False when the send failed (the failure is emitted only for the trigger, n == 0).
  bool send_trap_datagram(uint32_t peer, uint64_t n);
  void trap_traffic_tick();
  std::chrono::nanoseconds trap_period() const {
    return std::chrono::nanoseconds(static_cast<int64_t>(1e9 / opts_.trap_traffic_per_s));
  }

  EventLoop& loop_;
  CharonFleetOptions opts_;
  std::vector<Daemon> daemons_;
  std::vector<std::string> daemon_logs_;
  Sink sink_;
  std::chrono::milliseconds attempt_timeout_{30000};
  std::string child_name_ = "net";  // the CHILD_SA config every peer initiates
  double load_seconds_ = 0;
  std::vector<PeerObservation> scratch_;
  unique_fd trap_socket_;  // UDP in the peers namespace; the source is set per datagram
  std::vector<TrapTrafficCounts> trap_counts_;
  std::string trap_first_error_;
  std::vector<uint64_t> trap_next_;  // per peer: the next datagram's number
  std::vector<bool> trap_sending_;   // per peer: between initiate and terminate
  std::optional<EventLoop::TimerId> trap_timer_;
};

// Charon's total time before an initiator gives up on an unanswered request: the sum of
// retransmit_timeout * retransmit_base^n for n = 0..retransmit_tries (capped per try by
// retransmit_limit), from the settings or charon's defaults (5, 4 s, 1.8).
std::chrono::milliseconds retransmit_budget(const charon::CharonSettings& s);

}  // namespace ist::fleet
