#include "dataplane/data_plane_session.hpp"

#include <algorithm>
#include <cmath>

namespace ist::fleet {

using namespace std::chrono_literals;

namespace {
constexpr size_t kReasonsKept = 3;
}

Result<std::unique_ptr<DataPlaneSession>> DataPlaneSession::open(EventLoop& loop, native::PacketIo& io,
                                                                 DataPlaneSessionOptions o) {
  if (!o.open_sink_socket && !o.read_remote_sink) return Error("data plane: no sink (local socket or remote)");
  if (!o.plane.child_of || !o.plane.peer_endpoint) return Error("data plane: child_of and peer_endpoint are required");
  std::unique_ptr<DataPlaneSession> s(new DataPlaneSession(loop, std::move(o)));
  if (!s->opts_.open_sink_socket) {
    s->plane_ = std::make_unique<DataPlane>(loop, io, s->opts_.plane);
    return s;
  }
  IST_TRY_ASSIGN(unique_fd fd, s->opts_.open_sink_socket());
  IST_TRY(bind_udp4(fd.get(), s->opts_.plane.sink_address, s->opts_.plane.sink_port));
  // The sink checks each probe's source against the tunnel's inner address (its TSi).
  auto child_of = s->opts_.plane.child_of;
  auto inner_of = [child_of](uint32_t peer) {
    std::array<uint8_t, 4> a{};
    const native::ChildSa* c = child_of(peer);
    if (c && !c->ts_local.empty() && c->ts_local.front().start_address.size() == 4)
      std::copy_n(c->ts_local.front().start_address.begin(), 4, a.begin());
    return a;
  };
  IST_TRY_ASSIGN(s->sink_, DataSink::open(loop, std::move(fd), inner_of));
  s->plane_ = std::make_unique<DataPlane>(loop, io, s->opts_.plane);
  return s;
}

DataPlaneSession::~DataPlaneSession() {
  hold_ended();
  close();
}

void DataPlaneSession::close() {
  if (sink_) sink_->close();
}

void DataPlaneSession::tunnel_up(uint32_t peer, MonoTime initiated) {
  if (!plane_ || peer >= opts_.peers) return;
  const auto senders = opts_.spec.peer_count
                           ? *opts_.spec.peer_count
                           : static_cast<uint32_t>(std::max(1.0, std::round(opts_.spec.peer_share * opts_.peers)));
  if (peer >= senders) return;
  first_done_.resize(opts_.peers, false);
  if (first_done_[peer]) return;
  first_done_[peer] = true;
  if (auto st = plane_->send_now(peer); !st) {
    if (first_not_sent_++ == 0) notes_.push_back("traffic: a first packet was not sent: " + st.error().describe());
    return;
  }
  first_sent_.emplace_back(peer, initiated);
}

std::vector<DataPlaneSession::FirstPacket> DataPlaneSession::first_packets() const {
  std::vector<FirstPacket> out;
  out.reserve(first_sent_.size());
  for (const auto& [peer, initiated] : first_sent_) out.push_back({peer, initiated, plane_->first_echo_at(peer)});
  return out;
}

void DataPlaneSession::hold_started(std::chrono::milliseconds hold) {
  ++holds_;
  in_hold_ = true;
  rcvbuf_at_start_.reset();
  if (opts_.sut_rcvbuf_errors)
    if (auto n = opts_.sut_rcvbuf_errors()) rcvbuf_at_start_ = *n;
  const std::string which = "traffic, hold " + std::to_string(holds_) + ": ";
  std::vector<uint32_t> up;
  for (uint32_t p = 0; p < opts_.peers; ++p)
    if (opts_.plane.child_of(p)) up.push_back(p);
  size_t want = opts_.spec.peer_count
                    ? *opts_.spec.peer_count
                    : static_cast<size_t>(std::max(1.0, std::round(opts_.spec.peer_share * static_cast<double>(up.size()))));
  if (want > up.size()) {
    notes_.push_back(which + std::to_string(want) + " sending peers asked for, " + std::to_string(up.size()) +
                     " have a CHILD_SA");
    want = up.size();
  }
  senders_.assign(up.begin(), up.begin() + static_cast<std::ptrdiff_t>(want));
  if (senders_.empty()) {
    notes_.push_back(which + "no peer has a CHILD_SA; nothing sent");
    return;
  }
  // The last echoes need a moment to come back before the next phase deletes SAs.
  const auto drain = std::min<std::chrono::milliseconds>(1000ms, hold / 4);
  auto window = hold - drain;
  if (opts_.spec.duration) window = std::min(window, *opts_.spec.duration);
  if (auto st = plane_->start(senders_, opts_.spec.rate_per_s, opts_.spec.size, window); !st) {
    notes_.push_back(which + st.error().describe());
    return;
  }
  notes_.push_back(which + std::to_string(senders_.size()) + " tunnels at " +
                   std::to_string(static_cast<int>(opts_.spec.rate_per_s)) + "/s, " + std::to_string(opts_.spec.size) +
                   "-byte probes for " + std::to_string(window.count()) + " ms");
  auto at = [&](ProbeKind k, std::chrono::milliseconds when) {
    if (opts_.spec.faults[static_cast<size_t>(k)] == 0) return;
    fault_timers_.push_back(loop_.after(when, [this, k] { inject_all(k); }));
  };
  at(ProbeKind::bad_spi, window / 2);
  at(ProbeKind::replay, window / 2);
  at(ProbeKind::after_expiry, window * 9 / 10);
}

void DataPlaneSession::inject_all(ProbeKind kind) {
  FaultTally& t = tally_[static_cast<size_t>(kind)];
  const uint64_t n = opts_.spec.faults[static_cast<size_t>(kind)];
  for (uint64_t i = 0; i < n && !senders_.empty(); ++i) {
    uint32_t peer = senders_[i % senders_.size()];
    if (auto st = plane_->inject(kind, peer); st) {
      ++t.injected;
    } else {
      ++t.not_injectable;
      if (t.reasons.size() < kReasonsKept) t.reasons.push_back(st.error().describe());
    }
  }
}

void DataPlaneSession::hold_ended() {
  for (auto id : fault_timers_) loop_.cancel(id);
  fault_timers_.clear();
  if (plane_) plane_->stop();
  if (rcvbuf_at_start_ && opts_.sut_rcvbuf_errors) {
    if (auto n = opts_.sut_rcvbuf_errors(); n && *n >= *rcvbuf_at_start_)
      rcvbuf_errors_ = rcvbuf_errors_.value_or(0) + (*n - *rcvbuf_at_start_);
  }
  rcvbuf_at_start_.reset();
  if (in_hold_ && opts_.read_remote_sink) {
    if (auto t = opts_.read_remote_sink())
      remote_tally_ = std::move(*t);
    else
      notes_.push_back("traffic, hold " + std::to_string(holds_) + ": reading the remote sink's counts: " +
                       t.error().describe());
  }
  in_hold_ = false;
}

}  // namespace ist::fleet
