#include "fleet/native/native_fleet.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <numeric>

#include "common/log.hpp"
#include "fleet/charon_events.hpp"
#include "fleet/charon_fleet.hpp"
#include "ike/proposal_words.hpp"

namespace ist::fleet {

using K = PeerObservation::Kind;
using native::Bytes;

namespace {

Result<Bytes> address_bytes(const std::string& text) {
  Bytes out(16);
  if (::inet_pton(AF_INET, text.c_str(), out.data()) == 1) {
    out.resize(4);
    return out;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out.data()) == 1) return out;
  return Error("not an IP address: '" + text + "'");
}

}  // namespace

native::IdPayload native_identity(const std::string& id) {
  if (native::Bytes v4(4); ::inet_pton(AF_INET, id.c_str(), v4.data()) == 1)
    return native::IdPayload{native::id_type::ipv4_addr, std::move(v4)};
  if (native::Bytes v6(16); ::inet_pton(AF_INET6, id.c_str(), v6.data()) == 1)
    return native::IdPayload{native::id_type::ipv6_addr, std::move(v6)};
  if (!id.empty() && id[0] == '@') return native::IdPayload{native::id_type::fqdn, native::to_bytes(id.substr(1))};
  if (id.find('@') != std::string::npos) return native::IdPayload{native::id_type::rfc822_addr, native::to_bytes(id)};
  return native::IdPayload{native::id_type::fqdn, native::to_bytes(id)};
}

Result<native::TrafficSelector> native_selector(const std::string& text) {
  auto slash = text.find('/');
  IST_TRY_ASSIGN(auto first, address_bytes(text.substr(0, slash)));
  size_t bits = first.size() * 8;
  size_t prefix = bits;
  if (slash != std::string::npos) {
    try {
      prefix = std::stoul(text.substr(slash + 1));
    } catch (...) {
      return Error("bad prefix in '" + text + "'");
    }
    if (prefix > bits) return Error("bad prefix in '" + text + "'");
  }
  Bytes last = first;
  for (size_t bit = prefix; bit < bits; ++bit) {
    first[bit / 8] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    last[bit / 8] |= static_cast<uint8_t>(0x80u >> (bit % 8));
  }
  native::TrafficSelector ts;
  ts.type = first.size() == 4 ? native::ts_type::ipv4_addr_range : native::ts_type::ipv6_addr_range;
  ts.start_address = std::move(first);
  ts.end_address = std::move(last);
  return ts;
}

namespace {

// The classifier reads these texts (run/classify_run.cpp observation_of_failure_text); a
// protocol_error (an answer we cannot use) or retry_limit (too many COOKIE / INVALID_KE
// rounds) is the responder's doing, so evidence a rule may or may not know.
std::string failure_text(const native::InitiatorEvent& e, unsigned retransmits) {
  using C = native::FailureCause;
  switch (e.cause) {
    case C::no_response:
      return "native: giving up after " + std::to_string(retransmits) + " retransmits, peer not responding (" +
             e.detail + ")";
    case C::notify_received:
      return "native: received " + native::notify_name(e.notify) + " notify error (" + e.detail + ")";
    case C::auth_mismatch:
      return "native: AUTHENTICATION_FAILED: " + e.detail;
    default:
      return "native: " + native::cause_name(e.cause) + ": " + e.detail;
  }
}

// The failed attempt's exchange as the report names it (failures[].exchange).
const char* exchange_name(native::ExchangeType x) {
  switch (x) {
    case native::ExchangeType::ike_sa_init: return "IKE_SA_INIT";
    case native::ExchangeType::ike_auth: return "IKE_AUTH";
    case native::ExchangeType::create_child_sa: return "CREATE_CHILD_SA";
    case native::ExchangeType::informational: return "INFORMATIONAL";
  }
  return nullptr;
}

FailureKind failure_kind(const native::InitiatorEvent& e) {
  return e.cause == native::FailureCause::no_response ? FailureKind::no_response : FailureKind::evidence;
}

}  // namespace

Result<native::IkeProposalConfig> native_ike_proposal(const std::vector<std::string>& proposals) {
  IST_TRY_ASSIGN(auto p, native::parse_native_proposal(proposals, true));
  native::IkeProposalConfig c;
  c.encr = p.encr;
  c.key_bits = p.key_bits;
  c.integ = p.integ;
  c.dh_groups = p.dh_groups;
  return c;
}

Result<native::EspProposalConfig> native_esp_proposal(const std::vector<std::string>& proposals) {
  IST_TRY_ASSIGN(auto p, native::parse_native_proposal(proposals, false));
  native::EspProposalConfig c;
  c.encr = p.encr;
  c.key_bits = p.key_bits;
  c.integ = p.integ;
  return c;
}

NativeFleet::NativeFleet(EventLoop& loop, NativeFleetOptions options)
    : loop_(loop), opts_(std::move(options)), origin_(loop.clock().now()) {}

NativeFleet::~NativeFleet() { (void)stop(); }

Result<std::unique_ptr<NativeFleet>> NativeFleet::start(EventLoop& loop, NativeFleetOptions o) {
  if (!o.ike_address || !o.inner_address) return Error("native fleet: ike_address and inner_address are required");
  if (o.psk.empty()) return Error("native fleet: the native engine authenticates with a PSK and none was given");
  std::unique_ptr<NativeFleet> f(new NativeFleet(loop, std::move(o)));
  IST_TRY_ASSIGN(f->ike_suite_, native_ike_proposal(f->opts_.ike_proposals));
  IST_TRY_ASSIGN(f->esp_suite_, native_esp_proposal(f->opts_.esp_proposals));
  IST_TRY_ASSIGN(f->sut_addr_, address_bytes(f->opts_.sut_address));
  auto shared = std::make_shared<native::InitiatorShared>();
  shared->remote = native::Endpoint{f->sut_addr_, native::ike_port};
  shared->ike = f->ike_suite_;
  shared->esp = f->esp_suite_;
  shared->psk = native::to_bytes(f->opts_.psk);
  if (!f->opts_.sut_id.empty())
    shared->remote_id = native_identity(f->opts_.sut_id);
  for (const auto& ts : f->opts_.remote_ts) {
    IST_TRY_ASSIGN(auto sel, native_selector(ts));
    shared->ts_remote.push_back(std::move(sel));
  }
  shared->force_encap = f->opts_.encap;
  shared->retransmit = f->opts_.retransmit;
  f->shared_ = std::move(shared);
  auto schedule = f->opts_.retransmit.schedule();
  f->attempt_timeout_ = std::accumulate(schedule.begin(), schedule.end(), std::chrono::milliseconds(0)) +
                        std::chrono::seconds(5);
  IST_TRY(f->open_io());
  return f;
}

Status NativeFleet::open_io() {
  peers_.resize(opts_.peers);
  timers_ = std::make_unique<native::TimerWheel>(loop_, opts_.peers * kTimerKinds, [this](uint32_t id) { on_timer(id); });
  peer_addrs_.reserve(opts_.peers);
  by_address_.reserve(opts_.peers);
  for (uint32_t i = 0; i < opts_.peers; ++i) {
    IST_TRY_ASSIGN(auto a, address_bytes(opts_.ike_address(i)));
    if (a.size() != sut_addr_.size()) return Error("native fleet: peer and SUT addresses are of different families");
    peer_addrs_.push_back(native::IpPort::of(a, 0));
    by_address_.emplace_back(peer_addrs_.back().addr, i);
  }
  std::sort(by_address_.begin(), by_address_.end());
  if (opts_.make_io) {
    IST_TRY_ASSIGN(io_, opts_.make_io(loop_, peer_addrs_));
  } else {
    IST_TRY_ASSIGN(io_, native::UdpSocketsIo::open(loop_, peer_addrs_, {native::ike_port, native::natt_port}, opts_.run_in));
  }
  if (opts_.wrap_io) io_ = opts_.wrap_io(std::move(io_));
  io_->set_receiver([this](std::span<const native::PacketDatagram> batch) { on_datagrams(batch); });
  return ok();
}

std::optional<uint32_t> NativeFleet::peer_of(const native::IpPort& local) const {
  auto it = std::lower_bound(by_address_.begin(), by_address_.end(), local.addr,
                             [](const auto& entry, const std::array<uint8_t, 16>& a) { return entry.first < a; });
  if (it == by_address_.end() || it->first != local.addr || peer_addrs_[it->second].len != local.len) return std::nullopt;
  return it->second;
}

std::string NativeFleet::peer_name(uint32_t peer) const { return peer_conn_name(peer); }

const native::Initiator* NativeFleet::initiator(uint32_t peer) const {
  return peer < peers_.size() ? peers_[peer].ini.get() : nullptr;
}

native::Millis NativeFleet::now_ms() const {
  return std::chrono::duration_cast<native::Millis>(loop_.clock().now() - origin_);
}

native::InitiatorPeerConfig NativeFleet::config_for(uint32_t peer) const {
  native::InitiatorPeerConfig c;
  c.local = native::Endpoint{address_bytes(opts_.ike_address(peer)).value(), native::ike_port};
  c.local_id = native_identity(opts_.peer_id ? opts_.peer_id(peer) : peer_identity(peer));
  if (auto inner = native_selector(opts_.inner_address(peer))) c.ts_local = {std::move(*inner)};
  return c;
}

void NativeFleet::emit(K kind, uint32_t peer, std::string detail, FailureKind failure, const char* exchange) {
  if (!sink_) return;
  PeerObservation o{kind, peer, loop_.clock().now(), std::move(detail), failure};
  o.exchange = exchange;
  sink_(o);
}

void NativeFleet::cancel_timers(uint32_t peer) {
  for (uint32_t k = 0; k < kTimerKinds; ++k) timers_->cancel(timer_id(peer, static_cast<TimerKind>(k)));
}

void NativeFleet::on_timer(uint32_t id) {
  const uint32_t peer = id / kTimerKinds;
  Peer& p = peers_[peer];
  switch (static_cast<TimerKind>(id % kTimerKinds)) {
    case retransmit_timer:
      if (!p.ini) return;
      p.ini->on_timer(now_ms());
      pump(peer);
      return;
    case child_rekey_timer:
    case ike_rekey_timer:
      try_rekey(peer, id % kTimerKinds == child_rekey_timer);
      return;
    case terminate_timer:
      if (!p.delete_sent) {
        try_delete(peer, p.delete_retries - 1);
      } else if (p.ike_up) {
        report_down(peer, "native: delete not finished in time");
      }
      return;
    case kTimerKinds:
      return;
  }
}

void NativeFleet::initiate(uint32_t peer) {
  if (stopped_ || peer >= peers_.size()) return;
  Peer& p = peers_[peer];
  // A re-initiate starts from scratch: a new IKE_SA with fresh SPIs.
  cancel_timers(peer);
  exchange_done(p);
  p.ike_up = p.child_up = p.terminating = p.delete_sent = p.delete_waiting = false;
  ++p.generation;
  p.ini.reset();
  if (window_full()) {
    if (!p.waiting) waiting_.push_back(peer);
    p.waiting = true;
    return;
  }
  start_attempt(peer);
}

void NativeFleet::start_attempt(uint32_t peer) {
  Peer& p = peers_[peer];
  p.waiting = false;
  p.ini = std::make_unique<native::Initiator>(shared_, config_for(peer));
  if (auto st = p.ini->start(now_ms()); !st) {
    emit(K::attempt_failed, peer, "initiate: " + st.error().describe(), FailureKind::harness);
    p.ini.reset();
    return;
  }
  p.in_flight = true;
  ++exchanges_in_flight_;
  pump(peer);
}

// The peer's exchange is over (setup up, failed or abandoned; delete done): its slot goes to
// the next waiting delete, else the next waiting setup.
void NativeFleet::exchange_done(Peer& p) {
  if (!p.in_flight) return;
  p.in_flight = false;
  --exchanges_in_flight_;
  while (!stopped_ && !window_full() && !delete_waiting_.empty()) {
    const uint32_t next = delete_waiting_.front();
    delete_waiting_.pop_front();
    if (!peers_[next].delete_waiting) continue;  // re-initiated or gone meanwhile
    peers_[next].delete_waiting = false;
    try_delete(next, peers_[next].delete_retries);
  }
  while (!stopped_ && !window_full() && !waiting_.empty()) {
    const uint32_t next = waiting_.front();
    waiting_.pop_front();
    if (peers_[next].waiting) start_attempt(next);
  }
}

void NativeFleet::terminate(uint32_t peer) {
  if (stopped_ || peer >= peers_.size()) return;
  Peer& p = peers_[peer];
  if (p.waiting) {  // never started: nothing sent, nothing to delete
    p.waiting = false;
    emit(K::attempt_failed, peer, "native: attempt abandoned by terminate before it completed", FailureKind::abandoned);
    return;
  }
  if (!p.ini) return;
  p.terminating = true;
  timers_->cancel(timer_id(peer, child_rekey_timer));
  timers_->cancel(timer_id(peer, ike_rekey_timer));
  switch (p.ini->state()) {
    case native::InitiatorState::init_sent:
    case native::InitiatorState::auth_sent:
      // Nothing established to delete: abandon the exchange (the SUT's half-open SA times out).
      end_attempt(peer, "native: attempt abandoned by terminate before it completed", FailureKind::abandoned);
      return;
    case native::InitiatorState::established:
      try_delete(peer, 100);
      return;
    default:
      if (p.ike_up) report_down(peer, "native: terminated");
      return;
  }
}

// Waits for a request in flight (a rekey) to finish, then deletes the IKE_SA; the
// Initiator's own retransmits bound the delete, the terminate timer bounds the whole.
void NativeFleet::try_delete(uint32_t peer, int attempts_left) {
  Peer& p = peers_[peer];
  if (!p.ini || p.ini->state() != native::InitiatorState::established) return;
  if (!p.ini->busy()) {
    if (window_full()) {  // a slot frees when another exchange ends (setup_done)
      p.delete_retries = static_cast<uint8_t>(attempts_left);
      if (!p.delete_waiting) delete_waiting_.push_back(peer);
      p.delete_waiting = true;
      return;
    }
    if (auto st = p.ini->delete_ike(now_ms()); !st) {
      report_down(peer, "native: delete failed: " + st.error().describe());
      return;
    }
    p.delete_sent = true;
    if (!p.in_flight) {  // released by report_down when the delete is answered or times out
      p.in_flight = true;
      ++exchanges_in_flight_;
    }
    timers_->arm_after(timer_id(peer, terminate_timer), attempt_timeout_);
    pump(peer);
    return;
  }
  if (attempts_left <= 0) {
    report_down(peer, "native: a request stayed in flight; IKE_SA dropped without a delete");
    return;
  }
  p.delete_retries = static_cast<uint8_t>(attempts_left);
  timers_->arm_after(timer_id(peer, terminate_timer), std::chrono::milliseconds(100));
}

// An attempt that never got its CHILD_SA is over: forget the initiator, then tell the sink
// (which may re-initiate at once).
void NativeFleet::end_attempt(uint32_t peer, const std::string& why, FailureKind kind, const char* exchange) {
  Peer& p = peers_[peer];
  cancel_timers(peer);
  exchange_done(p);
  p.ini.reset();
  bool ike = p.ike_up;
  p.ike_up = p.child_up = false;
  if (ike) emit(K::ike_down, peer, why);
  emit(K::attempt_failed, peer, why, kind, exchange);
}

void NativeFleet::report_down(uint32_t peer, const std::string& why) {
  Peer& p = peers_[peer];
  bool child = p.child_up, ike = p.ike_up;
  p.delete_waiting = false;
  exchange_done(p);
  p.child_up = p.ike_up = p.terminating = false;
  cancel_timers(peer);
  if (p.ini && p.ini->state() != native::InitiatorState::established) p.ini.reset();
  if (child) emit(K::child_down, peer, why);
  if (ike) emit(K::ike_down, peer, why);
}

void NativeFleet::on_datagrams(std::span<const native::PacketDatagram> batch) {
  for (const auto& d : batch) {
    auto peer = peer_of(d.dst);
    if (!peer || stopped_) continue;
    ++received_;
    if (d.dst.port == native::natt_port && d.payload.size() >= 4 &&
        (d.payload[0] | d.payload[1] | d.payload[2] | d.payload[3]) != 0) {
      if (esp_receiver_) esp_receiver_(*peer, d);
      continue;
    }
    Peer& p = peers_[*peer];
    if (!p.ini) continue;
    p.ini->on_datagram(now_ms(), d.dst.port, d.payload);
    pump(*peer);
  }
}

void NativeFleet::pump(uint32_t peer) {
  Peer& p = peers_[peer];
  if (!p.ini) return;
  native::Initiator& ini = *p.ini;
  for (const auto& d : ini.take_outgoing()) {
    native::IpPort src = peer_addrs_[peer];
    src.port = d.local_port;
    io_->send({src, native::IpPort::of(sut_addr_, d.remote_port), d.payload});  // a refused send is a loss
  }
  const uint64_t generation = p.generation;
  for (const auto& e : ini.take_events()) {
    handle(peer, e);
    // The event ended the attempt, or the sink started a new one (already pumped).
    if (!p.ini || p.generation != generation) return;
  }
  if (auto next = p.ini->next_timer())
    timers_->arm(timer_id(peer, retransmit_timer), origin_ + *next);
  else
    timers_->cancel(timer_id(peer, retransmit_timer));
}

void NativeFleet::handle(uint32_t peer, const native::InitiatorEvent& e) {
  Peer& p = peers_[peer];
  using E = native::EventKind;
  switch (e.kind) {
    case E::ike_up:
      if (!p.ike_up) emit(K::ike_up, peer);
      p.ike_up = true;
      schedule_rekey(peer, false);
      return;
    case E::child_up:
      exchange_done(p);
      if (!p.child_up) emit(K::child_up, peer);
      p.child_up = true;
      schedule_rekey(peer, true);
      return;
    case E::ike_rekeyed:
      emit(K::ike_rekeyed, peer, e.by_peer ? "by the SUT" : "by the peer");
      schedule_rekey(peer, false);
      return;
    case E::child_rekeyed: {
      // Our own rekey carries how long it took, CREATE_CHILD_SA request to the answered delete
      // of the replaced SA (peers.deadlines.child).
      PeerObservation o{K::child_rekeyed, peer, loop_.clock().now(), e.by_peer ? "by the SUT" : "by the peer"};
      if (!e.by_peer && p.child_rekey_sent)
        o.took = std::chrono::duration_cast<std::chrono::milliseconds>(o.t - *p.child_rekey_sent);
      p.child_rekey_sent.reset();
      if (sink_) sink_(o);
      schedule_rekey(peer, true);
      return;
    }
    case E::child_deleted:
      timers_->cancel(timer_id(peer, child_rekey_timer));
      if (p.child_up) emit(K::child_down, peer, "native: CHILD_SA " + e.detail);
      p.child_up = false;
      return;
    case E::ike_deleted: {
      if (!p.ike_up) {
        end_attempt(peer, "native: IKE_SA " + e.detail + " before it was up", FailureKind::evidence);
        return;
      }
      // Detached before the sink hears of it: the sink may re-initiate this peer at once.
      auto gone = std::move(p.ini);
      report_down(peer, p.terminating ? "native: deleted" : "native: IKE_SA " + e.detail);
      return;
    }
    case E::failed: {
      unsigned retransmits = static_cast<unsigned>(opts_.retransmit.tries);
      if (!p.child_up) {
        // The attempt is over (IKE_SA_INIT, IKE_AUTH or the CHILD_SA in IKE_AUTH failed).
        end_attempt(peer, failure_text(e, retransmits), failure_kind(e), exchange_name(e.exchange));
        return;
      }
      if (e.child) {
        // A rekey or delete of an old SA failed; the current SAs stay. The report classifies
        // it (run/classify_run.cpp) as the charon fleet's rekey failures are from its logs.
        emit(K::rekey_failed, peer, failure_text(e, retransmits), failure_kind(e));
        return;
      }
      // An established IKE_SA stopped answering (a rekey or liveness check went unanswered).
      auto gone = std::move(p.ini);
      report_down(peer, failure_text(e, retransmits));
      return;
    }
    case E::rekey_collision:
      log::debug("native peer ", peer, ": rekey collision: ", e.detail);
      return;
  }
}

std::chrono::milliseconds NativeFleet::with_jitter(std::chrono::seconds rekey, std::chrono::seconds rand) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(rekey);
  if (rand.count() <= 0) return ms;
  jitter_state_ = jitter_state_ * 6364136223846793005ull + 1442695040888963407ull;
  auto span = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(rand).count());
  return ms - std::chrono::milliseconds(static_cast<int64_t>((jitter_state_ >> 33) % (span + 1)));
}

void NativeFleet::schedule_rekey(uint32_t peer, bool child) {
  Peer& p = peers_[peer];
  const uint32_t timer = timer_id(peer, child ? child_rekey_timer : ike_rekey_timer);
  timers_->cancel(timer);
  const auto& when = child ? opts_.child.rekey_time : opts_.ike.rekey_time;
  if (when.count() <= 0 || p.terminating) return;
  timers_->arm_after(timer, with_jitter(when, child ? opts_.child.rand_time : opts_.ike.rand_time));
}

void NativeFleet::try_rekey(uint32_t peer, bool child) {
  Peer& p = peers_[peer];
  if (!p.ini || p.terminating || p.ini->state() != native::InitiatorState::established) return;
  if (p.ini->busy()) {  // window size 1: retry when the request in flight is done
    timers_->arm_after(timer_id(peer, child ? child_rekey_timer : ike_rekey_timer), std::chrono::milliseconds(200));
    return;
  }
  auto st = child ? p.ini->rekey_child(now_ms()) : p.ini->rekey_ike(now_ms());
  if (!st) {
    log::debug("native peer ", peer, ": rekey not started: ", st.error().describe());
    return;
  }
  if (child) p.child_rekey_sent = loop_.clock().now();
  pump(peer);
}

Status NativeFleet::stop() {
  if (stopped_) return ok();
  stopped_ = true;
  if (timers_) timers_->clear();
  for (auto& p : peers_) p.ini.reset();
  if (io_) {
    io_->flush();
    io_->close();
    const auto st = io_->stats();
    log::info("native peers: packet layer ", io_->name(), ": sent ", st.sent, ", send errors ", st.send_errors,
              ", received ", st.received, ", dropped on receipt ", st.rx_dropped);
  }
  return ok();
}

}  // namespace ist::fleet
