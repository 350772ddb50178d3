#include "fleet/charon_fleet.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <optional>
#include <csignal>
#include <cstring>
#include <filesystem>

#include "common/log.hpp"
#include "fleet/charon_events.hpp"
#include "vici/commands.hpp"

namespace ist::fleet {

using namespace std::chrono_literals;
using K = PeerObservation::Kind;

namespace {
std::optional<double> setting_number(const charon::CharonSettings& s, const std::string& key,
                                     std::optional<double> typed) {
  if (auto it = s.user_keys.find(key); it != s.user_keys.end()) {
    try {
      return std::stod(it->second);
    } catch (...) {
      return std::nullopt;
    }
  }
  return typed;
}
}  // namespace

std::chrono::milliseconds retransmit_budget(const charon::CharonSettings& s) {
  const auto& t = s.tuning;
  auto opt = [](auto v) -> std::optional<double> {
    if (v) return static_cast<double>(*v);
    return std::nullopt;
  };
  double tries = setting_number(s, "retransmit_tries", opt(t.retransmit_tries)).value_or(5);
  double timeout = setting_number(s, "retransmit_timeout", t.retransmit_timeout).value_or(4.0);
  double base = setting_number(s, "retransmit_base", t.retransmit_base).value_or(1.8);
  double limit = setting_number(s, "retransmit_limit", t.retransmit_limit).value_or(0);
  double total = 0;
  for (int n = 0; n <= static_cast<int>(tries); ++n) {
    double step = timeout * std::pow(base, n);
    if (limit > 0) step = std::min(step, limit);
    total += step;
  }
  return std::chrono::milliseconds(static_cast<int64_t>(total * 1000));
}

CharonFleet::CharonFleet(EventLoop& loop, CharonFleetOptions options)
    : loop_(loop), opts_(std::move(options)) {}

CharonFleet::~CharonFleet() { (void)stop(); }

std::string CharonFleet::peer_name(uint32_t peer) const { return peer_conn_name(peer); }

charon::ConnSpec CharonFleet::conn_for(uint32_t peer) const {
  charon::ConnSpec c = opts_.make_conn ? opts_.make_conn(peer) : builtin_conn(peer);
  if (opts_.auth && opts_.auth->kind != charon::AuthKind::psk) {
    // Errors here were ruled out when the material was made for these peers.
    (void)charon::apply_peer_auth(c, *opts_.auth, peer);
  }
  if (opts_.trap) {
    c.start_action = charon::StartAction::trap;
    // Every daemon in the namespace receives every ACQUIRE; a reqid per peer keeps one
    // daemon's trap from answering another's (measured: p0's datagram also started p1).
    c.reqid = peer + 1;
  }
  return c;
}

charon::ConnSpec CharonFleet::builtin_conn(uint32_t peer) const {
  charon::ConnSpec c;
  c.name = peer_conn_name(peer);
  c.local_addrs = {opts_.ike_address(peer)};
  c.remote_addrs = {opts_.sut_address};
  c.local_id = opts_.peer_id ? opts_.peer_id(peer) : peer_identity(peer);
  c.remote_id = opts_.sut_id;
  c.ike_proposals = opts_.ike_proposals;
  c.esp_proposals = opts_.esp_proposals;
  c.ike = opts_.ike;
  c.child = opts_.child;
  c.encap = opts_.encap;
  c.unique = opts_.unique;
  c.send_certreq = opts_.send_certreq;
  c.keyingtries = 1;  // one attempt per initiate: the harness decides about retries
  c.local_ts = {charon::host_ts(opts_.inner_address(peer))};
  c.remote_ts = opts_.remote_ts;
  return c;
}

void CharonFleet::emit(PeerObservation o) {
  if (sink_) sink_(o);
}

Result<std::unique_ptr<CharonFleet>> CharonFleet::start(EventLoop& loop, CharonFleetOptions options) {
  if (options.peers == 0 || options.daemons == 0) return Error("charon fleet: need at least one peer and one daemon");
  if (!options.ike_address || !options.inner_address) return Error("charon fleet: no address plan");
  options.daemons = std::min(options.daemons, options.peers);
  if (options.trap && options.settings.backend != charon::Backend::xfrm)
    return Error("charon fleet: trap start needs the kernel-netlink backend (kernel-libipsec keeps trap policies "
                 "in userspace, so the kernel never raises an ACQUIRE)");
  if (options.trap && !options.run_in) return Error("charon fleet: trap start needs a way into the peers namespace");
  std::unique_ptr<CharonFleet> f(new CharonFleet(loop, std::move(options)));
  const auto& o = f->opts_;
  f->attempt_timeout_ = retransmit_budget(o.settings) + 5s;
  if (o.trap) IST_TRY(f->open_trap_socket());
  if (o.trap && o.trap_traffic_per_s > 0) {
    f->trap_counts_.resize(o.peers);
    f->trap_next_.resize(o.peers);
    f->trap_sending_.resize(o.peers);
  }

  IST_TRY(f->start_daemons());

  // SA events first, so nothing that follows a load can be missed. The `log` event comes
  // after loading: each load-conn makes charon log a line, and thousands of log events
  // raised on the connection that is still sending load-conns hung a daemon at 5,000 peers.
  CharonFleet* self = f.get();
  auto forward = [self](std::string_view event, const vici::Message& m) {
    self->scratch_.clear();
    observations_from_event(event, m, self->loop_.clock().now(), self->scratch_);
    for (auto& obs : self->scratch_) self->emit(std::move(obs));
  };
  for (auto& d : f->daemons_)
    for (const char* ev : {"ike-updown", "child-updown", "ike-rekey", "child-rekey"}) d.session->subscribe(ev, forward);

  // Secret and connections, pipelined on every daemon at once.
  auto t0 = loop.clock().now();
  uint64_t outstanding = 0;
  std::optional<Error> first_error;
  uint64_t failures = 0;
  auto done = [&](std::string what) {
    return [&, what = std::move(what)](Result<vici::Message> r) {
      --outstanding;
      std::string err;
      if (!r)
        err = r.error().describe();
      else if (r->get_or("success", "no") != "yes")
        err = r->get_or("errmsg", "refused without a reason");
      if (!err.empty()) {
        ++failures;
        if (!first_error) first_error = Error(what + ": " + err);
      }
    };
  };
  // No PSK when the peers authenticate with certificates only (a gateway config with
  // pubkey auth makes their connections itself: make_conn, no `auth`).
  std::optional<vici::Message> shared_msg;
  if (!o.psk.empty()) {
    IST_TRY_ASSIGN(auto m, charon::to_load_shared(charon::SharedSecret{"peers", o.psk, {}}));
    shared_msg = std::move(m);
  }
  for (uint32_t d = 0; d < f->daemons_.size(); ++d) {
    auto& session = *f->daemons_[d].session;
    if (shared_msg) {
      ++outstanding;
      session.request("load-shared", *shared_msg, done("load-shared"), 60s);
    }
    if (o.auth && o.auth->kind != charon::AuthKind::psk) {
      for (auto& req : charon::daemon_peer_credentials(*o.auth, d, static_cast<uint32_t>(f->daemons_.size()))) {
        ++outstanding;
        session.request(req.command, req.body, done(req.command), 60s);
      }
    }
  }
  f->child_name_ = f->conn_for(0).child_name;
  // Connections go in a window per daemon (vici::load_conns): thousands of requests queued
  // at once made a loaded charon leave some unanswered.
  std::vector<std::vector<vici::Message>> per_daemon(f->daemons_.size());
  for (uint32_t p = 0; p < o.peers; ++p) {
    IST_TRY_ASSIGN(auto msg, charon::to_load_conn(f->conn_for(p)));
    per_daemon[p % f->daemons_.size()].push_back(std::move(msg));
  }
  for (uint32_t d = 0; d < f->daemons_.size(); ++d) {
    ++outstanding;
    vici::load_conns(*f->daemons_[d].session, std::move(per_daemon[d]),
                     [&, d](Result<vici::LoadConnsReport> rep) {
                       --outstanding;
                       std::string err;
                       if (!rep)
                         err = rep.error().describe();
                       else if (!rep->failed.empty())
                         err = std::to_string(rep->failed.size()) + " refused, first " + rep->failed.front().first +
                               ": " + rep->failed.front().second;
                       if (!err.empty()) {
                         failures += rep ? rep->failed.size() : 1;
                         if (!first_error) first_error = Error("load-conn on peers-" + std::to_string(d) + ": " + err);
                       }
                     },
                     256, 120s);
  }
  auto r = loop.run_until([&] { return outstanding == 0; }, loop.clock().now() + 180s);
  if (!r) return std::move(r).error();
  if (outstanding) return Error("loading connections into the initiator daemons did not finish in 180 s");
  if (first_error)
    return Error(std::to_string(failures) + " load request(s) failed, first: " + first_error->describe());
  f->load_seconds_ = ms_between(t0, loop.clock().now()) / 1000.0;
  IST_TRY(f->subscribe_log_events(forward));
  log::debug("loaded ", o.peers, " peer connections into ", o.daemons, " daemon(s) in ", f->load_seconds_, " s");
  return f;
}

// K initiator daemons in the peers namespace, each with its vici session.
Status CharonFleet::start_daemons() {
  const auto& o = opts_;
  for (uint32_t d = 0; d < o.daemons; ++d) {
    charon::InstanceOptions io;
    io.name = "peers-" + std::to_string(d);
    io.netns = o.netns;
    io.work_dir = o.work_dir + "/" + io.name;
    io.run_state = o.state;
    io.settings = o.settings;
    io.settings.role = charon::Role::initiator;
    if (!o.socket_dir.empty()) io.settings.vici_socket = o.socket_dir + "/" + io.name + ".vici";
    // Several daemons share the namespace: each binds its own IKE and NAT-T ports.
    io.settings.user_keys["port"] = std::to_string(o.first_port + 2 * d);
    io.settings.user_keys["port_nat_t"] = std::to_string(o.first_port + 2 * d + 1);
    auto inst = charon::Instance::start(io);
    if (!inst) return std::move(inst).error().wrap("starting initiator daemon " + io.name);
    auto session = vici::Session::connect(loop_, inst->vici_socket());
    if (!session) return std::move(session).error().wrap("connecting to " + io.name);
    daemon_logs_.push_back(inst->log_path());
    daemons_.push_back(Daemon{std::move(*inst), std::move(*session), {}});
  }
  return ok();
}

// The log event (levels 0-1): how an unanswered attempt's giving up reaches us.
Status CharonFleet::subscribe_log_events(const vici::Session::EventHandler& forward) {
  uint32_t confirmed = 0;
  std::optional<Error> log_error;
  for (auto& d : daemons_)
    d.session->subscribe("log", forward, [&](Status st) {
      ++confirmed;
      if (!st && !log_error) log_error = st.error();
    });
  auto c = loop_.run_until([&] { return confirmed == daemons_.size(); }, loop_.clock().now() + 30s);
  if (!c) return std::move(c).error();
  if (log_error) return Error("subscribing to the initiators' log events: " + log_error->describe());
  return ok();
}

Status CharonFleet::open_trap_socket() {
  return opts_.run_in([this]() -> Status {
    unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) return Error(std::string("trap trigger socket: ") + std::strerror(errno));
    trap_socket_ = std::move(fd);
    return ok();
  });
}

// One datagram whose source is the peer's inner address (IP_PKTINFO picks it per message):
// it matches the peer's trap policy; while no SA is installed the kernel sends an ACQUIRE
// (one per negotiation) and drops the datagram (larval drop, xfrm_stat XfrmOutNoStates) or
// holds it in the policy's queue (net.core.xfrm_larval_drop 0), else ESP carries it.
bool CharonFleet::send_trap_datagram(uint32_t peer, uint64_t n) {
  auto fail = [&](const std::string& why) {
    if (n == 0) emit({K::attempt_failed, peer, loop_.clock().now(), "trap trigger: " + why, FailureKind::harness});
    return false;
  };
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(opts_.trap_port);
  in_pktinfo info{};
  const std::string src = opts_.inner_address(peer);
  if (::inet_pton(AF_INET, opts_.trap_target.c_str(), &dst.sin_addr) != 1 ||
      ::inet_pton(AF_INET, src.c_str(), &info.ipi_spec_dst) != 1)
    return fail("not IPv4 addresses: " + src + " -> " + opts_.trap_target);
  static constexpr char kPayload[] = "ikestorm trap trigger";
  std::vector<uint8_t> payload =
      opts_.trap_payload ? opts_.trap_payload(peer, n) : std::vector<uint8_t>(kPayload, kPayload + sizeof kPayload - 1);
  iovec iov{payload.data(), payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(in_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = &dst;
  msg.msg_namelen = sizeof dst;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(in_pktinfo));
  std::memcpy(CMSG_DATA(c), &info, sizeof info);
  // No SA yet: the kernel drops the datagram (larval drop) or fails the send with EAGAIN
  // (its hold queue for the policy is full); either way the ACQUIRE is what starts the peer.
  const bool sent = ::sendmsg(trap_socket_.get(), &msg, 0) >= 0;
  const int err = errno;
  if (!trap_counts_.empty()) ++(sent ? trap_counts_[peer].sent : trap_counts_[peer].send_errors);
  if (!sent && trap_first_error_.empty() && !trap_counts_.empty())
    trap_first_error_ = src + " -> " + opts_.trap_target + ": " + std::strerror(err);
  if (!sent && err != EAGAIN) return fail(src + " -> " + opts_.trap_target + ": " + std::strerror(err));
  return sent;
}

// Trap traffic: one datagram per sending peer, then the next tick 1/rate seconds later (a
// loop that falls behind sends less, never a burst).
void CharonFleet::trap_traffic_tick() {
  trap_timer_.reset();
  if (!trap_socket_) return;
  for (uint32_t p = 0; p < trap_sending_.size(); ++p)
    if (trap_sending_[p]) (void)send_trap_datagram(p, trap_next_[p]++);
  trap_timer_ = loop_.after(trap_period(), [this] { trap_traffic_tick(); });
}

void CharonFleet::initiate(uint32_t peer) {
  if (opts_.trap && !trap_counts_.empty()) {
    trap_sending_[peer] = true;
    (void)send_trap_datagram(peer, trap_next_[peer]++);
    if (!trap_timer_) trap_timer_ = loop_.after(trap_period(), [this] { trap_traffic_tick(); });
    return;
  }
  if (opts_.trap) {
    (void)send_trap_datagram(peer, 0);
    return;
  }
  vici::Message m;
  m.set("child", child_name_).set("ike", peer_conn_name(peer)).set("timeout", "-1");
  // The reply comes at once (timeout = -1); the outcome arrives as events. A transport error
  // or a refusal here is about the harness's own daemon and connection, not the SUT.
  daemon_of(peer).session->request("initiate", m, [this, peer](Result<vici::Message> r) {
    std::string err;
    if (!r)
      err = r.error().describe();
    else if (r->get_or("success", "no") != "yes")
      err = r->get_or("errmsg", "initiate refused");
    if (!err.empty()) emit({K::attempt_failed, peer, loop_.clock().now(), "initiate: " + err, FailureKind::harness});
  }, 30s);
}

void CharonFleet::terminate(uint32_t peer) {
  if (peer < trap_sending_.size()) trap_sending_[peer] = false;
  vici::Message m;
  m.set("ike", peer_conn_name(peer)).set("timeout", "-1");
  daemon_of(peer).session->request("terminate", m, [](Result<vici::Message>) {}, 30s);
}

bool CharonFleet::healthy(std::string* why) {
  const MonoTime now = loop_.clock().now();
  for (auto& d : daemons_) {
    const std::string who = d.instance.name() + " (pid " + std::to_string(d.instance.pid()) + ")";
    if (!d.instance.alive()) {
      if (why) *why = "died: " + who + " exited";
      return false;
    }
    const auto u = d.instance.usage();
    const double cpu = u ? u->cpu_s : 0;
    if (!d.ping_in_flight) {
      d.ping_in_flight = true;
      d.ping_sent = now;
      d.cpu_at_ping = cpu;
      d.session->request("version", vici::Message{}, [&d](Result<vici::Message>) { d.ping_in_flight = false; },
                         std::chrono::duration_cast<std::chrono::milliseconds>(kHungAfter * 3));
      continue;
    }
    // Busy (a long answer queue on a loaded daemon) is not hung: only silence with next to no
    // CPU. Not none: a deadlocked daemon's receiver and scheduler threads still wake now and
    // then (an IPv6 initiator stuck for 30 s spent 0.02-0.04 s: never flagged at < 0.01 s).
    if (now - d.ping_sent >= kHungAfter && u && cpu < d.cpu_at_ping + kHungCpuBudget) {
      if (why) {
        char spent[32];
        std::snprintf(spent, sizeof spent, "%.2f", cpu - d.cpu_at_ping);
        *why = "hung: " + who + " answered no vici request for " + std::to_string(kHungAfter.count()) +
               " s and spent " + spent + " s of CPU meanwhile (a deadlock inside charon; its peers' attempts cannot end)" +
               hang_evidence(d);
      }
      return false;
    }
  }
  return true;
}

// Where the hung daemon's threads wait, for the note, and their backtraces beside its log:
// the evidence a deadlock report to strongSwan needs, taken before teardown ends the process.
std::string CharonFleet::hang_evidence(const Daemon& d) {
  const pid_t pid = d.instance.pid();
  std::string out;
  if (auto waits = thread_wait_summary(pid); !waits.empty()) out += "; " + waits;
  const std::string path = d.instance.work_dir() + "/hang-backtraces.txt";
  auto bt = write_thread_backtraces(pid, path);
  out += bt ? "; backtraces in " + path : "; " + bt.error().describe();
  return out;
}

ProcessUsage CharonFleet::usage() {
  ProcessUsage total;
  for (auto& d : daemons_) {
    if (auto u = d.instance.usage()) d.last_usage = *u;
    total.cpu_s += d.last_usage.cpu_s;
    total.rss_peak_mb += d.last_usage.rss_peak_mb;
  }
  return total;
}

Status CharonFleet::stop() {
  Status first;
  for (auto& d : daemons_) {
    if (auto u = d.instance.usage()) d.last_usage = *u;
    d.session.reset();
    auto st = d.instance.stop();
    // SIGTERM is how it is stopped; anything else (a crash, a kill) is worth a line.
    if (!(st.exited && st.code == 0) && !(!st.exited && st.signal == SIGTERM) && first.ok())
      first = Error(d.instance.name() + " " + st.describe());
  }
  daemons_.clear();
  if (trap_timer_) loop_.cancel(*trap_timer_);
  trap_timer_.reset();
  std::fill(trap_sending_.begin(), trap_sending_.end(), false);
  trap_socket_.reset();
  return first;
}

}  // namespace ist::fleet
