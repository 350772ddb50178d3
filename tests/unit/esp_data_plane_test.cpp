// The data plane (harness/dataplane/data_plane.hpp) against an in-process stand-in for the
// SUT's IPsec stack: a PacketIo whose send() opens the ESP with the SUT's side of each
// CHILD_SA (its own replay window and SA table), and echoes normal probes back sealed with
// the SUT's outbound keys. And the echo sink (data_plane_sink.hpp) on loopback.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <map>

#include "dataplane/data_plane.hpp"
#include "dataplane/data_plane_sink.hpp"
#include "ike/crypto.hpp"
#include "ike/esp_inner.hpp"

namespace ist::fleet {
namespace {

using namespace std::chrono_literals;
using native::Bytes;

const std::array<uint8_t, 4> kSink{198, 18, 255, 1};
const native::SkSuite kGcm{native::transform_id::encr_aes_gcm_16, 128, native::transform_id::integ_none};

native::IpPort ip(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  const uint8_t addr[4] = {a, b, c, d};
  return native::IpPort::of(native::ByteView(addr, 4), 0);
}

native::ChildSa make_child(uint32_t peer, uint32_t generation) {
  native::ChildSa c;
  c.spi_in = 0x1000 + peer * 16 + generation;
  c.spi_out = 0x2000 + peer * 16 + generation;
  c.esp = kGcm;
  c.encr_out = native::random_bytes(20).value();
  c.encr_in = native::random_bytes(20).value();
  c.udp_encap = true;
  native::TrafficSelector ts;
  ts.start_address = {198, 19, 128, static_cast<uint8_t>(1 + peer)};
  ts.end_address = ts.start_address;
  c.ts_local = {ts};
  return c;
}

// The SUT's side: inbound SA = the peer's outbound, and the reverse for echoes.
class FakeSut final : public native::PacketIo {
 public:
  explicit FakeSut(EventLoop& loop) : loop_(loop) {}
  void install(uint32_t peer, const native::ChildSa& c) {
    in_[c.spi_out] = In{peer, native::EspKeys{c.esp, c.encr_out, c.integ_out}, native::ReplayWindow(32)};
    out_[peer] = Out{c.spi_in, native::EspKeys{c.esp, c.encr_in, c.integ_in}, 1};
  }
  void remove(uint32_t spi_out) { in_.erase(spi_out); }

  void send(const native::PacketDatagram& d) override {
    ++stats_.sent;
    EXPECT_EQ(d.src.port, native::natt_port);
    EXPECT_EQ(d.dst.port, native::natt_port);
    auto h = native::parse_esp_header(d.payload);
    if (!h || !in_.count(h->spi)) {
      ++no_state;  // XfrmInNoStates
      return;
    }
    In& sa = in_[h->spi];
    auto r = native::esp_decapsulate(sa.keys, h->spi, sa.window, d.payload);
    if (r.verdict == native::EspVerdict::replay) {
      ++seq_errors;  // XfrmInStateSeqError
      return;
    }
    ASSERT_EQ(r.verdict, native::EspVerdict::ok);
    auto udp = native::parse_ipv4_udp(r.inner);
    ASSERT_TRUE(udp);
    EXPECT_EQ(udp->dst, kSink);
    auto probe = decode_probe(udp->payload);
    ASSERT_TRUE(probe);
    if (probe->kind != ProbeKind::normal) {
      ++faults_delivered;
      return;
    }
    ++delivered;
    if (drop_echoes) return;
    probe->echo = true;
    Bytes echo_inner = native::build_ipv4_udp(kSink, udp->src, udp->dst_port, udp->src_port,
                                              encode_probe(*probe, udp->payload.size()), 7);
    Out& o = out_[sa.peer];
    Bytes esp = native::esp_encapsulate(o.keys, o.spi, o.seq++, native::esp_next_ipv4, echo_inner).value();
    if (tamper_echoes) esp[esp.size() - 1] ^= 1;
    native::PacketDatagram back{d.dst, d.src, {}};
    auto held = std::make_shared<Bytes>(esp);
    int copies = replay_echoes ? 2 : 1;
    loop_.after(0ms, [this, back, held, copies] {
      for (int i = 0; i < copies; ++i) {
        native::PacketDatagram x = back;
        x.payload = *held;
        receiver_(std::span<const native::PacketDatagram>(&x, 1));
      }
    });
  }
  void flush() override {}
  void set_receiver(Receiver r) override { receiver_ = std::move(r); }
  bool can_send_from(const native::IpPort&) const override { return true; }
  native::PacketIoStats stats() const override { return stats_; }
  std::string name() const override { return "fake-sut"; }
  void close() override {}

  uint64_t no_state = 0, seq_errors = 0, delivered = 0, faults_delivered = 0;
  bool drop_echoes = false, tamper_echoes = false, replay_echoes = false;

 private:
  struct In {
    uint32_t peer = 0;
    native::EspKeys keys;
    native::ReplayWindow window;
  };
  struct Out {
    uint32_t spi = 0;
    native::EspKeys keys;
    uint32_t seq = 1;
  };
  EventLoop& loop_;
  std::map<uint32_t, In> in_;
  std::map<uint32_t, Out> out_;
  Receiver receiver_;
  native::PacketIoStats stats_;
};

struct Rig {
  EventLoop loop;
  FakeSut sut{loop};
  std::map<uint32_t, native::ChildSa> children;
  std::unique_ptr<DataPlane> dp;

  explicit Rig(uint32_t peers) {
    for (uint32_t p = 0; p < peers; ++p) {
      children[p] = make_child(p, 0);
      sut.install(p, children[p]);
    }
    DataPlaneOptions o;
    o.peer_endpoint = [](uint32_t p) { return ip(198, 19, 0, static_cast<uint8_t>(1 + p)); };
    o.sut_endpoint = ip(198, 18, 0, 1);
    o.child_of = [this](uint32_t p) -> const native::ChildSa* {
      auto it = children.find(p);
      return it == children.end() ? nullptr : &it->second;
    };
    o.sink_address = kSink;
    dp = std::make_unique<DataPlane>(loop, sut, o);
    // What NativeFleet does: datagrams to a peer's address on 4500 with an SPI go to on_esp.
    sut.set_receiver([this](std::span<const native::PacketDatagram> batch) {
      for (const auto& d : batch) dp->on_esp(d.dst.addr[3] - 1u, d);
    });
  }
  void run_for(std::chrono::milliseconds d) {
    auto end = loop.clock().now() + d;
    ASSERT_TRUE(loop.run_until([] { return false; }, end));
  }
};

TEST(EspDataPlane, FlowsAtTheRateAndEveryEchoComesBack) {
  Rig rig(3);
  ASSERT_TRUE(rig.dp->start({0, 1, 2}, 100, 200, 300ms));
  rig.run_for(400ms);
  EXPECT_FALSE(rig.dp->sending());
  auto total = rig.dp->total();
  // 100/s for 0.3 s: 30 or 31 per tunnel depending on its phase.
  EXPECT_GE(total.sent, 90u);
  EXPECT_LE(total.sent, 93u);
  EXPECT_EQ(rig.sut.delivered, total.sent);
  EXPECT_EQ(total.received, total.sent);
  EXPECT_EQ(total.dropped, 0u);
  EXPECT_EQ(total.not_sent, 0u);
  for (uint32_t p : {0u, 1u, 2u}) {
    EXPECT_GE(rig.dp->counts(p).sent, 30u) << p;
    EXPECT_EQ(rig.dp->counts(p).received, rig.dp->counts(p).sent) << p;
  }
  EXPECT_EQ(rig.dp->tunnels(), (std::vector<uint32_t>{0, 1, 2}));
}

TEST(EspDataPlane, AFirstPacketGoesAtOnceAndItsEchoIsTimed) {
  Rig rig(2);
  const MonoTime before = rig.loop.clock().now();
  ASSERT_TRUE(rig.dp->send_now(1));
  EXPECT_EQ(rig.dp->counts(1).sent, 1u);  // counted like a flow's probe
  EXPECT_FALSE(rig.dp->first_echo_at(0).has_value());
  rig.run_for(50ms);
  ASSERT_TRUE(rig.dp->first_echo_at(1).has_value());
  EXPECT_GE(*rig.dp->first_echo_at(1), before);
  EXPECT_EQ(rig.dp->counts(1).received, 1u);
  EXPECT_FALSE(rig.dp->first_echo_at(0).has_value());  // peer 0 sent nothing
  // A later flow keeps the first echo's time.
  const MonoTime first = *rig.dp->first_echo_at(1);
  ASSERT_TRUE(rig.dp->start({1}, 100, 200, 50ms));
  rig.run_for(100ms);
  EXPECT_EQ(*rig.dp->first_echo_at(1), first);
  // No CHILD_SA: an Error, counted as not sent.
  rig.children.erase(0);
  EXPECT_FALSE(rig.dp->send_now(0).ok());
  EXPECT_EQ(rig.dp->counts(0).not_sent, 1u);
}

TEST(EspDataPlane, RefusesBadRatesAndSizes) {
  Rig rig(1);
  EXPECT_FALSE(rig.dp->start({0}, 0, 200, 1s));
  EXPECT_FALSE(rig.dp->start({0}, 10, 10, 1s));     // smaller than the probe tag
  EXPECT_FALSE(rig.dp->start({0}, 10, 5000, 1s));   // would not fit one datagram
}

TEST(EspDataPlane, CountsWhatCannotBeSent) {
  struct Case {
    const char* name;
    std::function<void(Rig&)> setup;
    const char* reason;
  };
  const Case cases[] = {
      {"no CHILD_SA", [](Rig& r) { r.children.erase(0); }, "had no CHILD_SA"},
      {"raw ESP", [](Rig& r) { r.children[0].udp_encap = false; }, "not UDP-encapsulated"},
  };
  for (const auto& c : cases) {
    Rig rig(1);
    c.setup(rig);
    ASSERT_TRUE(rig.dp->start({0}, 100, 64, 100ms));
    rig.run_for(200ms);
    auto total = rig.dp->total();
    EXPECT_EQ(total.sent, 0u) << c.name;
    EXPECT_GE(total.not_sent, 10u) << c.name;
    EXPECT_EQ(rig.sut.delivered, 0u) << c.name;
    EXPECT_NE(rig.dp->last_send_error().find(c.reason), std::string::npos) << c.name << ": " << rig.dp->last_send_error();
  }
}

TEST(EspDataPlane, InducedFaultsReachTheSutAsTheirKind) {
  Rig rig(2);
  // Nothing sent yet, no SA gone yet: refused with a reason.
  EXPECT_FALSE(rig.dp->inject(Fault::replay, 0));
  EXPECT_FALSE(rig.dp->inject(Fault::after_expiry, 0));
  EXPECT_FALSE(rig.dp->inject(Fault::normal, 0));
  ASSERT_TRUE(rig.dp->start({0, 1}, 100, 100, 100ms));
  rig.run_for(150ms);
  ASSERT_TRUE(rig.dp->inject(Fault::bad_spi, 0));
  ASSERT_TRUE(rig.dp->inject(Fault::bad_spi, 1));
  ASSERT_TRUE(rig.dp->inject(Fault::replay, 0));
  EXPECT_EQ(rig.sut.no_state, 2u);
  EXPECT_EQ(rig.sut.seq_errors, 1u);
  // A rekey: the SUT drops the old SA; the data plane moves to the new one and keeps the
  // old for after_expiry.
  uint32_t old_spi = rig.children[0].spi_out;
  rig.children[0] = make_child(0, 1);
  rig.sut.install(0, rig.children[0]);
  rig.sut.remove(old_spi);
  ASSERT_TRUE(rig.dp->start({0, 1}, 100, 100, 100ms));
  rig.run_for(150ms);
  ASSERT_TRUE(rig.dp->inject(Fault::after_expiry, 0));
  EXPECT_FALSE(rig.dp->inject(Fault::after_expiry, 1));  // peer 1 never lost an SA
  EXPECT_EQ(rig.sut.no_state, 3u);
  EXPECT_EQ(rig.sut.faults_delivered, 0u);
  auto c0 = rig.dp->counts(0);
  EXPECT_EQ(c0.injected[static_cast<size_t>(Fault::bad_spi)], 1u);
  EXPECT_EQ(c0.injected[static_cast<size_t>(Fault::replay)], 1u);
  EXPECT_EQ(c0.injected[static_cast<size_t>(Fault::after_expiry)], 1u);
  // Normal traffic went on across the rekey, on the new SA, and every echo came back.
  auto total = rig.dp->total();
  EXPECT_EQ(rig.sut.delivered, total.sent);
  EXPECT_EQ(total.received, total.sent);
  EXPECT_EQ(total.dropped, 0u);
}

TEST(EspDataPlane, RefusesDamagedAndReplayedEchoes) {
  struct Case {
    const char* name;
    bool tamper, replay;
    uint64_t TunnelCounts::*counter;
  };
  const Case cases[] = {
      {"tampered", true, false, &TunnelCounts::dropped_integrity},
      {"replayed", false, true, &TunnelCounts::dropped_replay},
  };
  for (const auto& c : cases) {
    Rig rig(1);
    rig.sut.tamper_echoes = c.tamper;
    rig.sut.replay_echoes = c.replay;
    ASSERT_TRUE(rig.dp->start({0}, 100, 50, 100ms));
    rig.run_for(150ms);
    auto t = rig.dp->total();
    EXPECT_GT(t.sent, 5u) << c.name;
    EXPECT_EQ(t.*(c.counter), t.sent) << c.name;
    EXPECT_EQ(t.dropped, t.sent) << c.name;
    EXPECT_EQ(t.received, c.replay ? t.sent : 0u) << c.name;
  }
}

// ---- the echo sink, on loopback ---------------------------------------------------------

unique_fd udp_socket() { return unique_fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)); }

uint16_t local_port(int fd) {
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  return ntohs(sa.sin_port);
}

TEST(EspDataSink, CountsPerTunnelEchoesNormalProbesOnly) {
  EventLoop loop;
  const std::array<uint8_t, 4> lo{127, 0, 0, 1};
  auto fd = udp_socket();
  ASSERT_TRUE(bind_udp4(fd.get(), lo, 0));
  const uint16_t sink_port = local_port(fd.get());
  // Tunnel 3 sends from 127.0.0.1; tunnel 4 claims another address.
  auto sink = DataSink::open(loop, std::move(fd), [](uint32_t peer) {
    return peer == 4 ? std::array<uint8_t, 4>{198, 19, 128, 5} : std::array<uint8_t, 4>{127, 0, 0, 1};
  });
  ASSERT_TRUE(sink);
  auto peer = udp_socket();
  ASSERT_TRUE(bind_udp4(peer.get(), lo, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(sink_port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  auto send = [&](const Bytes& b) {
    ASSERT_EQ(::sendto(peer.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to),
              static_cast<ssize_t>(b.size()));
  };
  for (uint64_t n = 0; n < 5; ++n) send(encode_probe({ProbeKind::normal, false, 3, n}, 100));
  send(encode_probe({ProbeKind::replay, false, 3, 0}, 100));
  send(encode_probe({ProbeKind::normal, false, 4, 0}, 100));  // misrouted
  send(native::to_bytes("not a probe at all"));
  send(encode_probe({ProbeKind::normal, true, 3, 9}, 100));   // an echo coming in: not ours
  ASSERT_TRUE(loop.run_until([&] { return (*sink)->total().received + (*sink)->misrouted() + (*sink)->unrecognized() >= 8; },
                             loop.clock().now() + 2s));
  EXPECT_EQ((*sink)->peer(3).received, 5u);
  EXPECT_EQ((*sink)->peer(3).echoed, 5u);
  EXPECT_EQ((*sink)->peer(3).faults[static_cast<size_t>(ProbeKind::replay)], 1u);
  EXPECT_EQ((*sink)->misrouted(), 1u);
  EXPECT_EQ((*sink)->unrecognized(), 2u);
  // The echoes: the same probes with the echo flag, back at the sender.
  uint8_t buf[2048];
  int echoes = 0;
  for (int i = 0; i < 50 && echoes < 5; ++i) {
    ssize_t n = ::recv(peer.get(), buf, sizeof buf, 0);
    if (n < 0) {
      ::usleep(10000);
      continue;
    }
    auto p = decode_probe(native::ByteView(buf, static_cast<size_t>(n)));
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->echo);
    EXPECT_EQ(p->peer, 3u);
    EXPECT_EQ(p->number, static_cast<uint64_t>(echoes));
    ++echoes;
  }
  EXPECT_EQ(echoes, 5);
}

// The vm backend's guest sink (`ikestorm udp-echo`) hands its tally back as JSON.
TEST(EspDataSink, TallyRoundTripsThroughJson) {
  SinkTally t;
  t.peers.resize(8);
  t.peers[2].received = 160;
  t.peers[2].echoed = 159;
  t.peers[7].faults[static_cast<size_t>(ProbeKind::bad_spi)] = 2;
  t.total.received = 160;
  t.total.echoed = 159;
  t.total.faults[static_cast<size_t>(ProbeKind::bad_spi)] = 2;
  t.misrouted = 1;
  t.unrecognized = 3;
  t.echo_errors = 1;
  auto back = parse_sink_tally(sink_tally_json(t));
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->peers.size(), 8u);  // up to the highest tunnel that saw something
  EXPECT_EQ(back->peer(2).received, 160u);
  EXPECT_EQ(back->peer(2).echoed, 159u);
  EXPECT_EQ(back->peer(0).received, 0u);
  EXPECT_EQ(back->peer(7).faults[static_cast<size_t>(ProbeKind::bad_spi)], 2u);
  EXPECT_EQ(back->total.faults[static_cast<size_t>(ProbeKind::bad_spi)], 2u);
  EXPECT_EQ(back->total.faults[static_cast<size_t>(ProbeKind::replay)], 0u);
  EXPECT_EQ(back->total.echoed, 159u);
  EXPECT_EQ(back->misrouted, 1u);
  EXPECT_EQ(back->unrecognized, 3u);
  EXPECT_EQ(back->echo_errors, 1u);
}

TEST(EspDataSink, TallyJsonRefusesWhatIsNotOne) {
  for (const char* bad : {"", "[]", "{\"peers\":{\"x\":{}}}", "{\"peers\":{\"99999999999\":{}}}",
                          "{\"total\":{\"received\":\"many\"}}"})
    EXPECT_FALSE(parse_sink_tally(bad)) << bad;
}

TEST(EspDataProbe, RoundTripsAndRefusesOtherBytes) {
  Probe p{ProbeKind::after_expiry, true, 123456, 0x0102030405060708ull};
  Bytes b = encode_probe(p, 64);
  EXPECT_EQ(b.size(), 64u);
  auto back = decode_probe(b);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->kind, p.kind);
  EXPECT_EQ(back->echo, true);
  EXPECT_EQ(back->peer, p.peer);
  EXPECT_EQ(back->number, p.number);
  EXPECT_FALSE(decode_probe(Bytes(b.begin(), b.begin() + 17)));
  b[4] = 9;
  EXPECT_FALSE(decode_probe(b));
  b[4] = 0;
  b[0] = 'X';
  EXPECT_FALSE(decode_probe(b));
}

}  // namespace
}  // namespace ist::fleet
