#include "dataplane/data_plane.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "ike/crypto.hpp"
#include "ike/esp_inner.hpp"

namespace ist::fleet {

using namespace std::chrono_literals;

namespace {
constexpr auto kTick = 10ms;
constexpr size_t kInboundKept = 3;       // current SA plus two replaced ones for late echoes
constexpr size_t kRetiredKept = 4;       // outbound SAs kept for after_expiry faults
constexpr size_t kMaxProbeSize = 1400;   // inner UDP payload; keeps the ESP-in-UDP packet under 1500
}  // namespace

TunnelCounts& TunnelCounts::operator+=(const TunnelCounts& o) {
  sent += o.sent;
  not_sent += o.not_sent;
  received += o.received;
  dropped += o.dropped;
  dropped_unknown_spi += o.dropped_unknown_spi;
  dropped_replay += o.dropped_replay;
  dropped_integrity += o.dropped_integrity;
  dropped_malformed += o.dropped_malformed;
  dropped_inner += o.dropped_inner;
  for (size_t i = 0; i < injected.size(); ++i) injected[i] += o.injected[i];
  return *this;
}

DataPlane::DataPlane(EventLoop& loop, native::PacketIo& io, DataPlaneOptions options)
    : loop_(loop), io_(io), opts_(std::move(options)) {}

DataPlane::~DataPlane() { stop(); }

DataPlane::Tunnel& DataPlane::tunnel(uint32_t peer) {
  if (peer >= tunnels_.size()) tunnels_.resize(peer + 1);
  return tunnels_[peer];
}

void DataPlane::refresh(uint32_t peer, Tunnel& t) {
  const native::ChildSa* c = opts_.child_of ? opts_.child_of(peer) : nullptr;
  auto retire = [&t] {
    if (!t.out) return;
    t.retired.push_back(std::move(*t.out));
    t.out.reset();
    if (t.retired.size() > kRetiredKept) t.retired.erase(t.retired.begin());
  };
  if (!c) {
    retire();  // the SA is gone (deleted, expired, the IKE_SA ended)
    return;
  }
  if (!t.out || t.out->spi != c->spi_out) {
    retire();  // rekeyed away
    t.out = OutSa{c->spi_out, native::EspKeys{c->esp, c->encr_out, c->integ_out}, 1};
  }
  if (t.in.empty() || t.in.back().spi != c->spi_in) {
    t.in.push_back(InSa{c->spi_in, native::EspKeys{c->esp, c->encr_in, c->integ_in},
                        native::ReplayWindow(opts_.replay_window)});
    if (t.in.size() > kInboundKept) t.in.erase(t.in.begin());
  }
  if (!c->ts_local.empty() && c->ts_local.front().start_address.size() == 4)
    std::memcpy(t.inner.data(), c->ts_local.front().start_address.data(), 4);
}

Status DataPlane::start(const std::vector<uint32_t>& peers, double rate_per_s, size_t size,
                        std::chrono::milliseconds duration) {
  if (!(rate_per_s > 0) || rate_per_s > 100000) return Error("data plane: rate must be above 0 and at most 100000/s");
  if (size < kProbeSize || size > kMaxProbeSize)
    return Error("data plane: size must be " + std::to_string(kProbeSize) + ".." + std::to_string(kMaxProbeSize) +
                 " bytes");
  stop();
  for (auto& t : tunnels_) {
    t.flowing = false;
    t.due_done = 0;
  }
  for (size_t i = 0; i < peers.size(); ++i) {
    Tunnel& t = tunnel(peers[i]);
    t.flowing = true;
    t.phase = peers.empty() ? 0 : static_cast<double>(i) / static_cast<double>(peers.size());
  }
  rate_per_s_ = rate_per_s;
  size_ = size;
  start_ = loop_.clock().now();
  end_ = start_ + duration;
  tick_timer_ = loop_.after(0ms, [this] { tick(); });
  return ok();
}

void DataPlane::stop() {
  if (tick_timer_) loop_.cancel(tick_timer_);
  tick_timer_ = 0;
}

void DataPlane::tick() {
  tick_timer_ = 0;
  auto now = std::min(loop_.clock().now(), end_);
  const double elapsed_s = std::chrono::duration<double>(now - start_).count();
  for (uint32_t peer = 0; peer < tunnels_.size(); ++peer) {
    Tunnel& t = tunnels_[peer];
    if (!t.flowing) continue;
    // Probes due by now: the first at `phase` of a period, then one per period.
    const auto due = static_cast<uint64_t>(std::floor(elapsed_s * rate_per_s_ + 1.0 - t.phase));
    while (t.due_done < due) {
      ++t.due_done;
      (void)send_normal(peer, t);
    }
  }
  io_.flush();
  if (loop_.clock().now() < end_) tick_timer_ = loop_.after(kTick, [this] { tick(); });
}

Status DataPlane::send_normal(uint32_t peer, Tunnel& t) {
  refresh(peer, t);
  Status st = ok();
  if (!t.out) {
    st = Error("peer " + std::to_string(peer) + " had no CHILD_SA");
  } else {
    Probe p{ProbeKind::normal, false, peer, t.numbers[0]};
    st = send_probe(peer, t, *t.out, t.out->spi, t.out->next_seq, p);
    if (st) {
      ++t.numbers[0];
      ++t.out->next_seq;
      ++t.counts.sent;
      return st;
    }
  }
  ++t.counts.not_sent;
  last_send_error_ = st.error().describe();
  return st;
}

Status DataPlane::send_now(uint32_t peer) {
  Status st = send_normal(peer, tunnel(peer));
  io_.flush();
  return st;
}

std::optional<MonoTime> DataPlane::first_echo_at(uint32_t peer) const {
  return peer < tunnels_.size() ? tunnels_[peer].first_echo_at : std::nullopt;
}

Status DataPlane::send_probe(uint32_t peer, Tunnel& t, const OutSa& sa, uint32_t spi, uint32_t seq,
                             const Probe& probe, native::ByteView iv) {
  const native::ChildSa* c = opts_.child_of ? opts_.child_of(peer) : nullptr;
  if (c && !c->udp_encap)
    return Error("the CHILD_SA is not UDP-encapsulated; raw ESP (IP protocol 50) is not sent by this data plane");
  native::Bytes payload = encode_probe(probe, std::max(size_, kProbeSize));
  native::Bytes inner = native::build_ipv4_udp(t.inner, opts_.sink_address, opts_.source_port, opts_.sink_port,
                                               payload, ip_id_++);
  IST_TRY_ASSIGN(native::Bytes esp, native::esp_encapsulate(sa.keys, spi, seq, native::esp_next_ipv4, inner, iv));
  native::IpPort src = opts_.peer_endpoint(peer);
  src.port = native::natt_port;
  native::IpPort dst = opts_.sut_endpoint;
  dst.port = native::natt_port;
  io_.send({src, dst, esp});
  return ok();
}

Status DataPlane::inject(Fault kind, uint32_t peer) {
  Tunnel& t = tunnel(peer);
  refresh(peer, t);
  const auto k = static_cast<size_t>(kind);
  Probe p{kind, false, peer, t.numbers[k]};
  switch (kind) {
    case Fault::normal: return Error("inject: 'normal' is not a fault");
    case Fault::bad_spi: {
      if (!t.out) return Error("inject bad_spi: peer " + std::to_string(peer) + " has no CHILD_SA");
      // An SPI none of this peer's SAs has (nor 0, nor the reserved 1-255).
      uint32_t spi = 0;
      for (int tries = 0; tries < 16; ++tries) {
        IST_TRY_ASSIGN(auto r, native::random_bytes(4));
        spi = native::get_u32(r.data()) | 0x80000000u;
        bool used = spi == t.out->spi;
        for (const auto& old : t.retired) used = used || spi == old.spi;
        for (const auto& in : t.in) used = used || spi == in.spi;
        if (!used) break;
      }
      IST_TRY(send_probe(peer, t, *t.out, spi, 1, p));
      break;
    }
    case Fault::replay: {
      if (!t.out) return Error("inject replay: peer " + std::to_string(peer) + " has no CHILD_SA");
      if (t.out->next_seq <= 1) return Error("inject replay: nothing sent yet on peer " + std::to_string(peer) + "'s SA");
      // A fresh random IV: with GCM the IV must never repeat under one key (RFC 4106 3.1).
      IST_TRY_ASSIGN(auto iv, native::random_bytes(t.out->keys.suite.iv_size()));
      IST_TRY(send_probe(peer, t, *t.out, t.out->spi, t.out->next_seq - 1, p, iv));
      break;
    }
    case Fault::after_expiry: {
      if (t.retired.empty())
        return Error("inject after_expiry: peer " + std::to_string(peer) + " has no SA that expired or was replaced yet");
      OutSa& old = t.retired.front();
      IST_TRY(send_probe(peer, t, old, old.spi, old.next_seq, p));
      ++old.next_seq;
      break;
    }
  }
  ++t.numbers[k];
  ++t.counts.injected[k];
  io_.flush();
  return ok();
}

void DataPlane::on_esp(uint32_t peer, const native::PacketDatagram& d) {
  Tunnel& t = tunnel(peer);
  auto header = native::parse_esp_header(d.payload);
  if (!header) {
    ++t.counts.dropped;
    ++t.counts.dropped_malformed;
    return;
  }
  auto find = [&]() -> InSa* {
    for (auto& in : t.in)
      if (in.spi == header->spi) return &in;
    return nullptr;
  };
  InSa* sa = find();
  if (!sa) {
    refresh(peer, t);
    sa = find();
  }
  if (!sa) {
    ++t.counts.dropped;
    ++t.counts.dropped_unknown_spi;
    return;
  }
  native::EspOpened r = native::esp_decapsulate(sa->keys, sa->spi, sa->window, d.payload);
  switch (r.verdict) {
    case native::EspVerdict::ok: break;
    case native::EspVerdict::replay: ++t.counts.dropped, ++t.counts.dropped_replay; return;
    case native::EspVerdict::integrity:
    case native::EspVerdict::padding: ++t.counts.dropped, ++t.counts.dropped_integrity; return;
    case native::EspVerdict::malformed:
    case native::EspVerdict::wrong_spi: ++t.counts.dropped, ++t.counts.dropped_malformed; return;
  }
  std::optional<Probe> probe;
  if (r.next_header == native::esp_next_ipv4) {
    if (auto udp = native::parse_ipv4_udp(r.inner); udp && udp->src == opts_.sink_address && udp->dst == t.inner)
      probe = decode_probe(udp->payload);
  }
  if (!probe || !probe->echo || probe->peer != peer || probe->kind != ProbeKind::normal) {
    ++t.counts.dropped;
    ++t.counts.dropped_inner;
    return;
  }
  ++t.counts.received;
  if (!t.first_echo_at) t.first_echo_at = loop_.clock().now();
}

TunnelCounts DataPlane::counts(uint32_t peer) const {
  return peer < tunnels_.size() ? tunnels_[peer].counts : TunnelCounts{};
}

TunnelCounts DataPlane::total() const {
  TunnelCounts sum;
  for (const auto& t : tunnels_) sum += t.counts;
  return sum;
}

std::vector<uint32_t> DataPlane::tunnels() const {
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < tunnels_.size(); ++i) {
    const auto& c = tunnels_[i].counts;
    if (tunnels_[i].flowing || c.sent || c.not_sent || c.received || c.dropped) out.push_back(i);
  }
  return out;
}

}  // namespace ist::fleet
