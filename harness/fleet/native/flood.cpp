#include "fleet/native/flood.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdio>
#include <cstring>

#include "fleet/native/flood_malformed.hpp"

namespace ist::native {

namespace {

// Pacing: ticks every 10 ms, at most this many messages per flood per tick, so the peers'
// own timers keep running (each message costs a DH key pair, ~0.1 ms).
constexpr std::chrono::milliseconds kTick{10};
constexpr uint64_t kMaxPerTick = 200;

uint32_t v4_host(const uint8_t* a) { return get_u32(a); }

}  // namespace

std::string FloodSpec::describe() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%s%s%s %g/s for %lld ms from %u.%u.%u.%u/%u",
                kind == Kind::half_open ? "half_open" : "malformed", kind == Kind::malformed ? " " : "",
                kind == Kind::malformed ? to_string(malform) : "", rate_per_s,
                static_cast<long long>(duration.count()), prefix[0], prefix[1], prefix[2], prefix[3], prefix_len);
  return buf;
}

FloodIo::FloodIo(EventLoop& loop, std::unique_ptr<PacketIo> inner, FloodOptions options)
    : loop_(loop), inner_(std::move(inner)), opts_(std::move(options)) {}

Result<std::unique_ptr<FloodIo>> FloodIo::make(EventLoop& loop, std::unique_ptr<PacketIo> inner, FloodOptions o) {
  if (o.sut.len != 4) return Error("flood: the SUT needs an IPv4 address (floods are IPv4 only)");
  for (const auto& f : o.floods) {
    if (!(f.rate_per_s > 0) || f.rate_per_s > 100000) return Error("flood: rate must be above 0, at most 100000/s");
    if (f.prefix[0] != 198 || (f.prefix[1] & 0xfe) != 18 || f.prefix_len < 15 || f.prefix_len > 32)
      return Error("flood: sources outside 198.18.0.0/15");
  }
  std::unique_ptr<FloodIo> io(new FloodIo(loop, std::move(inner), std::move(o)));
  for (const auto& p : io->opts_.peer_addresses)
    if (p.len == 4) io->peer_v4_.insert(v4_host(p.addr.data()));
  const size_t n = io->opts_.floods.size();
  io->stats_.resize(n);
  io->next_index_.assign(n, 1);  // skip the prefix's network address
  io->started_at_.resize(n);
  io->due_.assign(n, 0);
  io->timers_.assign(n, 0);
  return io;
}

FloodIo::~FloodIo() {
  for (auto t : timers_)
    if (t) loop_.cancel(t);
}

void FloodIo::close() {
  closed_ = true;
  for (auto& t : timers_) {
    if (t) loop_.cancel(t);
    t = 0;
  }
  raw_.reset();
  inner_->close();
}

void FloodIo::send(const PacketDatagram& d) {
  if (!started_) start();
  inner_->send(d);
}

std::optional<std::pair<MonoTime, MonoTime>> FloodIo::window() const {
  std::optional<std::pair<MonoTime, MonoTime>> w;
  for (size_t i = 0; i < opts_.floods.size(); ++i) {
    if (!started_at_[i]) continue;
    const MonoTime from = *started_at_[i], to = from + opts_.floods[i].duration;
    if (!w) w.emplace(from, to);
    w->first = std::min(w->first, from);
    w->second = std::max(w->second, to);
  }
  return w;
}

void FloodIo::start() {
  if (started_ || closed_) return;
  started_ = true;
  for (size_t i = 0; i < opts_.floods.size(); ++i) {
    timers_[i] = loop_.after(opts_.floods[i].start, [this, i] {
      timers_[i] = 0;
      started_at_[i] = loop_.clock().now();
      tick(i);
    });
  }
}

IpPort FloodIo::next_source(size_t flood) {
  const FloodSpec& f = opts_.floods[flood];
  const uint64_t size = f.prefix_len >= 32 ? 1 : (1ull << (32 - f.prefix_len));
  const uint32_t base = v4_host(f.prefix.data()) & static_cast<uint32_t>(~(size - 1));
  for (uint64_t tries = 0; tries < size; ++tries) {
    const uint64_t idx = next_index_[flood]++ % size;
    const uint32_t host = base + static_cast<uint32_t>(idx);
    if (size > 2 && (idx == 0 || idx == size - 1)) continue;  // network and broadcast
    if (peer_v4_.count(host)) continue;
    uint8_t a[4] = {static_cast<uint8_t>(host >> 24), static_cast<uint8_t>(host >> 16), static_cast<uint8_t>(host >> 8),
                    static_cast<uint8_t>(host)};
    return IpPort::of(ByteView(a, 4), ike_port);
  }
  return IpPort::of(ByteView(f.prefix.data(), 4), ike_port);
}

Result<Bytes> FloodIo::message_from(const IpPort& src, const FloodSpec& spec) {
  InitiatorConfig c;
  c.local = Endpoint{Bytes(src.addr.begin(), src.addr.begin() + 4), ike_port};
  c.remote = Endpoint{Bytes(opts_.sut.addr.begin(), opts_.sut.addr.begin() + 4), ike_port};
  c.ike = opts_.ike;
  c.psk = to_bytes("flood");
  c.local_id = IdPayload{id_type::fqdn, to_bytes("flood")};
  c.ts_local = {TrafficSelector{.start_address = c.local.address, .end_address = c.local.address}};
  c.ts_remote = {TrafficSelector{.start_address = c.remote.address, .end_address = c.remote.address}};
  Initiator ini(c);
  IST_TRY(ini.start(Millis(0)));
  auto out = ini.take_outgoing();
  if (out.empty()) return Error("flood: the initiator produced no IKE_SA_INIT");
  Bytes m = std::move(out.front().payload);
  if (spec.kind == FloodSpec::Kind::malformed) return malform_ike(m, spec.malform);
  return m;
}

void FloodIo::send_spoofed(const IpPort& src, ByteView ike, FloodStats& st) {
  IpPort dst = opts_.sut;
  dst.port = ike_port;
  if (inner_->can_send_from(src)) {
    inner_->send(PacketDatagram{src, dst, ike});
    ++st.sent;
    return;
  }
  if (!raw_ && !raw_tried_) {
    raw_tried_ = true;
    auto make = [this]() -> Status {
      unique_fd fd(::socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_RAW));
      if (!fd) return Error::sys("flood: raw socket");
      raw_ = std::move(fd);
      return ok();
    };
    (void)(opts_.run_in ? opts_.run_in(make) : make());
  }
  if (!raw_) {
    ++st.send_errors;
    return;
  }
  // IPv4 + UDP by hand (IPPROTO_RAW implies IP_HDRINCL); the kernel fills the IP checksum
  // and id. UDP checksum 0 means "none" for IPv4 (RFC 768).
  Bytes pkt;
  const uint16_t total = static_cast<uint16_t>(20 + 8 + ike.size());
  put_u8(pkt, 0x45);
  put_u8(pkt, 0);
  put_u16(pkt, total);
  put_u32(pkt, 0);  // id, flags, fragment offset
  put_u8(pkt, 64);
  put_u8(pkt, IPPROTO_UDP);
  put_u16(pkt, 0);
  put_bytes(pkt, src.address());
  put_bytes(pkt, dst.address());
  put_u16(pkt, src.port);
  put_u16(pkt, dst.port);
  put_u16(pkt, static_cast<uint16_t>(8 + ike.size()));
  put_u16(pkt, 0);
  put_bytes(pkt, ike);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  std::memcpy(&to.sin_addr, dst.addr.data(), 4);
  const ssize_t n = ::sendto(raw_.get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  if (n == static_cast<ssize_t>(pkt.size()))
    ++st.sent;
  else
    ++st.send_errors;
}

void FloodIo::tick(size_t i) {
  if (closed_) return;
  const FloodSpec& f = opts_.floods[i];
  const auto elapsed = loop_.clock().now() - *started_at_[i];
  const double elapsed_s = std::chrono::duration<double>(std::min<std::chrono::nanoseconds>(
                                                             elapsed, std::chrono::duration_cast<std::chrono::nanoseconds>(f.duration)))
                               .count();
  // Messages due by now at the flood's rate; a slow tick sends the backlog (bounded).
  const auto due = static_cast<uint64_t>(std::floor(elapsed_s * f.rate_per_s)) + 1;
  FloodStats& st = stats_[i];
  for (uint64_t k = 0; due_[i] < due && k < kMaxPerTick; ++k, ++due_[i]) {
    const IpPort src = next_source(i);
    auto m = message_from(src, f);
    if (!m) {
      ++st.send_errors;
      continue;
    }
    send_spoofed(src, *m, st);
  }
  inner_->flush();
  if (elapsed >= f.duration) return;
  timers_[i] = loop_.after(kTick, [this, i] {
    timers_[i] = 0;
    tick(i);
  });
}

std::vector<std::string> FloodIo::summary() const {
  std::vector<std::string> out;
  for (size_t i = 0; i < opts_.floods.size(); ++i) {
    std::string s = "flood " + std::to_string(i + 1) + ": " + opts_.floods[i].describe() + ": sent " +
                    std::to_string(stats_[i].sent);
    if (stats_[i].send_errors) s += ", " + std::to_string(stats_[i].send_errors) + " not sent";
    const auto& f = opts_.floods[i];
    const auto planned = static_cast<uint64_t>(f.rate_per_s * std::chrono::duration<double>(f.duration).count()) + 1;
    if (started_ && due_[i] + 1 < planned)
      s += " (fell behind: " + std::to_string(due_[i]) + " of " + std::to_string(planned) + " planned)";
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace ist::native
