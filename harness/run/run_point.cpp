#include "run/run_point.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <fstream>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/gateway_config.hpp"
#include "charon/settings.hpp"
#include "common/log.hpp"
#include "fleet/charon_events.hpp"
#include "fleet/charon_fleet.hpp"
#include "fleet/native/impair_layers.hpp"
#include "fleet/native/data_plane_session.hpp"
#include "fleet/native/native_fleet.hpp"
#include "fleet/native/packet_io_choice.hpp"
#include "netns/sysctl.hpp"
#include "netns/topology.hpp"
#include "run/charon_sut.hpp"
#include "run/classify_run.hpp"
#include "run/orchestrator.hpp"
#include "run/vm_sut.hpp"
#include "scenario/effective.hpp"
#include "xfrm/run_observer.hpp"

namespace fs = std::filesystem;

namespace ist::run {

using namespace std::chrono_literals;

namespace {

charon::IkeLifetimes ike_lifetimes(const scenario::EffectiveSa& e) {
  charon::IkeLifetimes l;
  l.rekey_time = charon::Seconds(e.rekey_s);
  l.reauth_time = charon::Seconds(e.reauth_s);
  l.over_time = charon::Seconds(e.over_s);
  l.rand_time = charon::Seconds(e.rand_s);
  return l;
}

charon::ChildLifetimes child_lifetimes(const scenario::EffectiveSa& e) {
  charon::ChildLifetimes l;
  l.rekey_time = charon::Seconds(e.rekey_s);
  l.life_time = charon::Seconds(e.life_s);
  l.rand_time = charon::Seconds(e.rand_s);
  return l;
}

std::map<std::string, std::string> user_keys(const std::vector<scenario::CharonSetting>& v) {
  std::map<std::string, std::string> out;
  for (const auto& s : v) out[s.key] = s.value;
  return out;
}

// The native peers follow peers.charon's retransmit keys as the charon fleet does (charon's
// meaning: first timeout in s, base of the exponential backoff, retransmits before giving
// up). The scenario validator checked their form and the native engine's bounds.
native::RetransmitPolicy native_retransmit(const std::map<std::string, std::string>& keys) {
  auto number = [&](const char* key, const char* fallback) {
    auto it = keys.find(key);
    return std::strtod(it == keys.end() ? fallback : it->second.c_str(), nullptr);
  };
  return native::RetransmitPolicy{native::Millis(std::llround(number("retransmit_timeout", kInitiatorRetransmitTimeout) * 1000)),
                                  number("retransmit_base", "1.8"),
                                  static_cast<unsigned>(number("retransmit_tries", kInitiatorRetransmitTries))};
}

fleet::Arrival to_arrival(const scenario::Arrival& a) {
  switch (a.kind) {
    case scenario::Arrival::Kind::rate: return fleet::Arrival::at_rate(a.rate_per_s);
    case scenario::Arrival::Kind::burst: return fleet::Arrival::burst(a.burst);
    case scenario::Arrival::Kind::ramp:
      return fleet::Arrival::ramp(a.ramp_from_per_s, a.ramp_to_per_s, a.ramp_over);
  }
  return fleet::Arrival::burst();
}

OrchestratorPlan orchestrator_plan(const scenario::Scenario& s, const scenario::Effective& eff) {
  OrchestratorPlan plan;
  plan.time_scale = s.time_scale;
  plan.seed = s.seed;
  for (std::size_t i = 0; i < s.phases.size(); ++i) {
    const auto& sp = s.phases[i];
    Phase p;
    switch (sp.kind) {
      case scenario::Phase::Kind::connect:
        p.kind = Phase::Kind::connect;
        p.arrival = to_arrival(sp.arrival.value_or(s.peers.arrival));
        break;
      case scenario::Phase::Kind::hold:
        p.kind = Phase::Kind::hold;
        p.duration = eff.phase_durations.at(i);
        break;
      case scenario::Phase::Kind::storm:
        p.kind = Phase::Kind::storm;
        p.share = sp.share;
        p.within = sp.within;
        break;
      case scenario::Phase::Kind::churn:
        p.kind = Phase::Kind::churn;
        p.rate_per_s = sp.rate_per_s;
        p.duration = eff.phase_durations.at(i);
        break;
      case scenario::Phase::Kind::teardown: p.kind = Phase::Kind::teardown; break;
    }
    plan.phases.push_back(p);
  }
  return plan;
}

// The scenario's peers.impair and peers.flood as the native engine's decorators.
Result<std::shared_ptr<native::ImpairLayers>> native_impair_layers(EventLoop& loop, const scenario::Scenario& s,
                                                                   const fleet::PeerPlan& plan,
                                                                   const fleet::NativeFleetOptions& no) {
  native::ImpairLayerOptions o;
  o.seed = s.seed;
  for (std::size_t i = 0; i < s.peers.impair.size(); ++i) {
    const auto& m = s.peers.impair[i];
    auto r = native::impair_rule_from_words(m.action, m.exchange, m.direction, m.message, m.malform);
    if (!r) return Error("peers.impair[" + std::to_string(i) + "]: " + r.error().describe());
    r->esp = m.esp;
    r->peers = m.peers;
    r->packets = m.packets;
    r->delay = m.delay;
    r->copies = m.copies;
    o.rules.push_back(*r);
  }
  for (std::size_t i = 0; i < s.peers.flood.size(); ++i) {
    const auto& f = s.peers.flood[i];
    native::FloodSpec spec;
    spec.kind = f.kind == "malformed" ? native::FloodSpec::Kind::malformed : native::FloodSpec::Kind::half_open;
    spec.rate_per_s = f.rate_per_s;
    spec.duration = f.duration;
    spec.start = f.start;
    if (auto k = native::malform_kind_from(f.malform)) spec.malform = *k;
    if (auto st = native::parse_flood_sources(f.sources, spec); !st)
      return Error("peers.flood[" + std::to_string(i) + "]: " + st.error().describe());
    o.floods.push_back(spec);
  }
  for (uint32_t i = 0; i < plan.peers; ++i) {
    auto a = netns::IpAddress::parse(plan.ike_address(i));
    if (!a) return Error("peers.impair: " + a.error().describe());
    o.peer_addresses.push_back(native::IpPort::of(native::ByteView(a->bytes.data(), a->size()), 0));
  }
  auto sut = netns::IpAddress::parse(plan.sut_address);
  if (!sut) return Error("peers.impair: " + sut.error().describe());
  o.sut = native::IpPort::of(native::ByteView(sut->bytes.data(), sut->size()), native::ike_port);
  auto ike = fleet::native_ike_proposal(plan.ike_proposals);
  if (!ike) return Error("peers.flood: " + ike.error().describe());
  o.ike = *ike;
  o.run_in = no.run_in;
  return native::ImpairLayers::make(loop, std::move(o));
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream f(path);
  f << text;
}

// Keeps report.json readable for big runs: full timelines for up to this many peers, and
// for every peer that did not end established.
constexpr std::size_t kTimelinePeers = 2000;

// Udp RcvbufErrors from /proc/net/snmp's text (a header line and a value line per protocol).
Result<uint64_t> udp_rcvbuf_errors(std::istream& snmp) {
  std::string header, values;
  while (std::getline(snmp, header) && std::getline(snmp, values)) {
    if (header.rfind("Udp:", 0) != 0) continue;
    std::istringstream hn(header), vn(values);
    for (std::string name, value; hn >> name && vn >> value;)
      if (name == "RcvbufErrors") return std::stoull(value);
  }
  return Error("no Udp RcvbufErrors in /proc/net/snmp");
}

// The scenario's traffic block as the native engine's data plane: flows from the peers'
// inner addresses through their CHILD_SAs to a sink at the SUT's protected-subnet address.
Result<std::unique_ptr<fleet::DataPlaneSession>> open_traffic(EventLoop& loop, const scenario::Traffic& t,
                                                              fleet::NativeFleet& nf, const netns::Topology& topo,
                                                              uint32_t peers, VmSut* vm_sut) {
  fleet::DataPlaneSessionOptions o;
  if (t.peer_count) o.spec.peer_count = static_cast<uint32_t>(*t.peer_count);
  o.spec.peer_share = t.peer_share;
  o.spec.rate_per_s = t.rate_per_s;
  o.spec.size = t.size;
  o.spec.duration = t.duration;
  o.spec.faults[static_cast<size_t>(fleet::ProbeKind::bad_spi)] = t.faults.bad_spi;
  o.spec.faults[static_cast<size_t>(fleet::ProbeKind::replay)] = t.faults.replay;
  o.spec.faults[static_cast<size_t>(fleet::ProbeKind::after_expiry)] = t.faults.after_expiry;
  o.peers = peers;
  auto endpoint = [](const netns::IpAddress& a) {
    return native::IpPort::of(native::ByteView(a.bytes.data(), a.size()), native::natt_port);
  };
  o.plane.sut_endpoint = endpoint(topo.sut_ike_address());
  o.plane.peer_endpoint = [&topo, endpoint](uint32_t i) { return endpoint(topo.peer_ike_address(i)); };
  o.plane.child_of = [&nf](uint32_t i) -> const native::ChildSa* {
    const native::Initiator* ini = nf.initiator(i);
    return ini ? ini->child() : nullptr;
  };
  std::copy_n(topo.sut_subnet_address().bytes.begin(), 4, o.plane.sink_address.begin());
  if (vm_sut) {
    // The protected subnet lives on the guest's lo: the sink runs there (`ikestorm
    // udp-echo`) and its counts are read back through the guest agent.
    IST_TRY(vm_sut->start_data_sink(topo.sut_subnet_address().str(), o.plane.sink_port));
    o.read_remote_sink = [vm_sut]() -> Result<fleet::SinkTally> {
      IST_TRY_ASSIGN(std::string json, vm_sut->read_data_sink_counts());
      return fleet::parse_sink_tally(json);
    };
    o.sut_rcvbuf_errors = [vm_sut]() -> Result<uint64_t> {
      IST_TRY_ASSIGN(std::string text, vm_sut->read_guest_file("/proc/net/snmp"));
      std::istringstream in(text);
      return udp_rcvbuf_errors(in);
    };
  } else {
    const netns::Namespace* sut_ns = &topo.sut_ns();
    o.open_sink_socket = [sut_ns] { return sut_ns->open_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK); };
    o.sut_rcvbuf_errors = [sut_ns]() -> Result<uint64_t> {
      Result<uint64_t> n = Error("not read");
      IST_TRY(sut_ns->run_in([&]() -> Status {
        // thread-self: this thread is the one inside the namespace (/proc/self is the process's).
        std::ifstream f("/proc/thread-self/net/snmp");
        n = udp_rcvbuf_errors(f);
        return ok();
      }));
      return n;
    };
  }
  IST_TRY_ASSIGN(auto session, fleet::DataPlaneSession::open(loop, nf.io(), std::move(o)));
  fleet::DataPlaneSession* sp = session.get();
  nf.set_esp_receiver([sp](uint32_t peer, const native::PacketDatagram& d) { sp->plane().on_esp(peer, d); });
  return session;
}

// How many lines of the SUT's log contain `needle` (libipsec's ESP drops are logged there).
uint64_t count_log_lines(const std::string& path, const std::string& needle) {
  std::ifstream f(path);
  uint64_t n = 0;
  for (std::string line; std::getline(f, line);) n += line.find(needle) != std::string::npos;
  return n;
}

// summary.data and data_tunnels: each tunnel's path end to end, and what each induced fault
// kind left as evidence. Nothing here is turned into a failure record: with libipsec the
// SUT's only traces are the sink's silence and (for replays) a log line, see below.
void fill_data_report(const fleet::DataPlaneSession& t, const std::string& sut_log,
                      const std::vector<reports::TimeseriesPoint>& series, reports::RunReport& rep) {
  reports::DataSummary d;
  for (uint32_t peer : t.plane().tunnels()) {
    const auto c = t.plane().counts(peer);
    const auto k = t.sink().peer(peer);
    rep.data_tunnels.push_back({fleet::peer_conn_name(peer), c.sent, k.received, k.echoed, c.received, c.dropped,
                                c.not_sent});
    ++d.tunnels;
    d.sent += c.sent;
    d.received_by_sut += k.received;
    d.echoed += k.echoed;
    d.received += c.received;
    d.dropped += c.dropped;
    d.not_sent += c.not_sent;
  }
  d.lost = d.sent - std::min(d.sent, d.received);
  d.misrouted = t.sink().misrouted;
  if (auto n = t.sut_rcvbuf_errors()) d.sut_udp_rcvbuf_errors = static_cast<int64_t>(*n);
  d.unrecognized = t.sink().unrecognized;
  d.agree = d.sent > 0 && d.sent == d.received_by_sut && d.received_by_sut == d.echoed && d.echoed == d.received &&
            d.dropped == 0;
  auto xfrm_sum = [&](const char* counter) {
    int64_t n = 0;
    for (const auto& pt : series)
      if (auto it = pt.xfrm_stat.find(counter); it != pt.xfrm_stat.end()) n += it->second;
    return n;
  };
  const uint64_t seq_lines = count_log_lines(sut_log, "ESP sequence number verification failed");
  const uint64_t no_sa_lines = count_log_lines(sut_log, "inbound ESP packet does not belong to an installed SA");
  for (auto kind : {fleet::ProbeKind::bad_spi, fleet::ProbeKind::replay, fleet::ProbeKind::after_expiry}) {
    const auto& tally = t.faults(kind);
    reports::DataFault f;
    f.injected = tally.injected;
    f.not_injectable = tally.not_injectable;
    f.delivered_by_sut = t.sink().total.faults[static_cast<size_t>(kind)];
    if (f.injected == 0 && f.not_injectable == 0) continue;
    f.evidence = tally.reasons;
    f.evidence.push_back("sink: " + std::to_string(f.delivered_by_sut) + " of " + std::to_string(f.injected) +
                         " reached the SUT's protected subnet");
    if (kind == fleet::ProbeKind::replay) {
      f.evidence.push_back("SUT log: " + std::to_string(seq_lines) +
                           " x 'ESP sequence number verification failed' (libipsec, ESP level 1)");
      f.evidence.push_back("xfrm_stat XfrmInStateSeqError +" + std::to_string(xfrm_sum("XfrmInStateSeqError")) +
                           " (kernel XFRM only)");
    } else {
      f.evidence.push_back("SUT log: " + std::to_string(no_sa_lines) +
                           " x 'inbound ESP packet does not belong to an installed SA' (libipsec logs it at ESP "
                           "level 2 only)");
      f.evidence.push_back("xfrm_stat XfrmInNoStates +" + std::to_string(xfrm_sum("XfrmInNoStates")) +
                           ", XfrmInStateExpired +" + std::to_string(xfrm_sum("XfrmInStateExpired")) +
                           " (kernel XFRM only)");
    }
    d.faults[fleet::to_string(kind)] = std::move(f);
  }
  if (d.not_sent > 0)
    rep.notes.push_back("traffic: " + std::to_string(d.not_sent) + " probes due were not sent; the last because " +
                        t.plane().last_send_error());
  rep.data = std::move(d);
  for (const auto& n : t.notes()) rep.notes.push_back(n);
}

}  // namespace

PointOutcome run_point(const scenario::SweepPoint& point, const PointContext& ctx) {
  const scenario::Scenario& s = point.scenario;
  PointOutcome out;
  reports::RunReport& rep = out.report;
  rep.folder = ctx.point_dir;
  for (const auto& [k, v] : point.parameters) rep.parameters[k] = v;
  const auto eff = scenario::effective(s);
  rep.effective = eff.to_json(s);

  // Whole-second lifetimes after compression: say so when rounding moved one noticeably.
  {
    auto check = [&](const char* what, std::chrono::milliseconds written, int64_t effective_s) {
      if (written.count() <= 0 || effective_s <= 0) return;
      double exact_s = static_cast<double>(written.count()) / 1000.0 / s.time_scale;
      double shift = (static_cast<double>(effective_s) - exact_s) / exact_s;
      if (std::abs(shift) > 0.05) {
        char buf[256];
        std::snprintf(buf, sizeof buf, "%s: %.3g s after time_scale %g reaches charon as %lld s (%+.0f%%)", what,
                      exact_s, s.time_scale, static_cast<long long>(effective_s), shift * 100);
        rep.notes.push_back(buf);
      }
    };
    check("peers.ike.rekey_time", s.peers.ike.rekey_time, eff.peers_ike.rekey_s);
    check("peers.child.rekey_time", s.peers.child.rekey_time, eff.peers_child.rekey_s);
    check("sut.ike.rekey_time", s.sut.ike.rekey_time, eff.sut_ike.rekey_s);
    check("sut.child.rekey_time", s.sut.child.rekey_time, eff.sut_child.rekey_s);
  }

  const std::string dir = ctx.out_dir + "/" + ctx.point_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  write_file(dir + "/scenario.json", point.document.dump(2) + "\n");

  const uint32_t peers = static_cast<uint32_t>(s.peers.count);
  rep.summary.peers = peers;
  auto fail = [&](std::string why) {
    out.fault = std::move(why);
    rep.outcome = "harness-fault";
    rep.notes.push_back(out.fault);
    return std::move(out);
  };

  const bool native_engine = s.peers.engine == scenario::Engine::native;
  if (native_engine && scenario::to_string(s.peers.auth) != std::string("psk"))
    return fail("peers.engine: native authenticates with a PSK only (peers.auth: " +
                std::string(scenario::to_string(s.peers.auth)) + " needs peers.engine: charon)");
  if (native_engine && (s.sut.config.swanctl_conf || s.sut.config.strongswan_conf))
    return fail("peers.engine: native cannot derive peers from sut.config (use peers.engine: charon)");

  EventLoop loop;
  if (!loop.valid()) return fail("epoll_create1 failed");

  // 1. The network.
  netns::TopologySpec spec;
  spec.peer_count = peers;
  // Native peers share one packet layer for the routed peer prefix by default (no kernel
  // address per peer); IKESTORM_NATIVE_IO=udp-sockets keeps per-peer sockets and addresses.
  auto native_io = native::choose_packet_io(false);
  if (native_engine && !native_io) return fail("peers.engine native: " + native_io.error().describe());
  const bool raw_prefix_io = native_engine && *native_io == native::PacketIoKind::raw_prefix;
  spec.peer_addresses = !raw_prefix_io;
  if (s.link.rate_bits_per_s) spec.link.rate_bits_per_s = *s.link.rate_bits_per_s;
  spec.link.loss_percent = s.link.loss * 100.0;
  auto topo = netns::Topology::build(*ctx.state, spec);
  if (!topo) return fail("building the topology: " + topo.error().describe());
  rep.notes.push_back("topology built in " + std::to_string(topo->timings().total_s) + " s");
  if (auto note = netns::skipped_sysctls_note(topo->skipped_sysctls()); !note.empty()) rep.notes.push_back(note);

  // The kernel's XFRM side of both namespaces, sampled at every tick (harness/xfrm).
  xfrm::RunObserver kernel;
  for (const netns::Namespace* ns : {&topo->sut_ns(), &topo->peers_ns()}) {
    auto st = kernel.add(loop, ns->role(), [ns](const std::function<Status()>& fn) { return ns->run_in(fn); });
    if (!st) rep.notes.push_back("kernel XFRM observer for " + ns->name() + ": " + st.error().describe());
  }
  auto kernel_sampled = [&kernel, &loop](OrchestratorPlan plan) {
    plan.on_tick = [&kernel, &loop](reports::TimeseriesPoint& pt) { kernel.fill(loop.clock().now(), pt); };
    return plan;
  };

  // vm: the SUT charon runs with kernel-netlink in a guest (VmSut), like xfrm on the host.
  const bool vm_backend = ctx.backend == "vm";
  auto backend = charon::parse_backend(vm_backend ? "xfrm" : ctx.backend);
  if (!backend) return fail(backend.error().describe());
  if (vm_backend && s.link.loss > 0)
    rep.notes.push_back("backend vm: link.loss is not applied (the SUT's end of the link is a bridge port, which "
                        "the loss rules' inet hooks do not see); link.rate is");
  if (*backend == charon::Backend::libipsec)
    rep.notes.push_back(
        "backend libipsec: ESP is UDP-encapsulated on port 4500 (kernel-libipsec can only receive "
        "ESP in UDP and fakes NAT detection to force it), so the SUT logs every peer as behind NAT; "
        "this says nothing about the network (harness/charon/NAT.md)");

  // Unix socket paths are limited to 107 bytes: a deep --out folder gets its sockets in a
  // private folder (0700, made exclusively) in the run's state folder, journaled for `clean`.
  std::string socket_dir;
  if (dir.size() + std::string("/peers-255/charon.vici").size() > charon::kMaxUnixSocketPath) {
    auto made = ctx.state->create_private_dir("sockets-" + ctx.point_dir);
    if (!made) return fail("vici sockets: " + made.error().describe());
    socket_dir = *made;
    rep.notes.push_back("vici sockets in " + socket_dir + " (the report folder's path is too long for a unix socket)");
  }
  struct SocketDirCleanup {
    RunState* state;
    std::string dir;
    ~SocketDirCleanup() {
      if (dir.empty()) return;
      std::error_code e;
      fs::remove_all(dir, e);
      (void)state->forget({std::string(resource_kind::dir), dir, ""});
    }
  } socket_dir_cleanup{ctx.state, socket_dir};

  // 2. The SUT.
  charon::InstanceOptions sio;
  sio.name = "sut";
  sio.netns = topo->sut_ns().name();
  sio.work_dir = dir + "/sut";
  sio.run_state = ctx.state;
  sio.settings.role = charon::Role::sut;
  sio.settings.backend = *backend;
  sio.settings.filelog = charon::default_filelog(charon::Role::sut, "");
  sio.settings.user_keys = user_keys(s.sut.charon);
  if (!socket_dir.empty()) sio.settings.vici_socket = socket_dir + "/sut.vici";

  charon::ResponderOptions ro;
  ro.local_addr = topo->sut_ike_address().str();
  ro.local_ts = {topo->sut_subnet().str()};
  ro.ike_proposals = s.sut.ike.proposals.empty() ? s.peers.ike.proposals : s.sut.ike.proposals;
  ro.esp_proposals = s.sut.child.proposals.empty() ? s.peers.child.proposals : s.sut.child.proposals;
  ro.ike = ike_lifetimes(eff.sut_ike);
  ro.child = child_lifetimes(eff.sut_child);
  ro.encap = s.peers.encap;
  auto responder = charon::sut_responder_conn(ro);
  charon::SharedSecret secret{"peers", ctx.psk, {}};
  std::string peer_psk = ctx.psk;

  // Authentication: certificates from a throwaway CA, or EAP secrets, made for this point.
  auto auth_kind = charon::parse_auth_kind(scenario::to_string(s.peers.auth));
  if (!auth_kind) return fail(auth_kind.error().describe());
  charon::AuthKind kind = *auth_kind;

  // The user's own gateway as the SUT: their settings and connections, our addresses.
  std::optional<charon::GatewayAdaptation> gateway;
  if (s.sut.config.swanctl_conf) {
    charon::GatewayFiles files;
    files.swanctl_conf = s.sut.config.swanctl_conf->string();
    if (s.sut.config.strongswan_conf) files.strongswan_conf = s.sut.config.strongswan_conf->string();
    charon::GatewayPlan plan;
    plan.sut_address = ro.local_addr;
    plan.sut_subnet = topo->sut_subnet().str();
    auto a = charon::adapt_gateway(files, plan);
    if (!a) return fail("sut.config: " + a.error().describe());
    gateway = std::move(*a);
    kind = gateway->auth;
    peer_psk = gateway->peer_secret.secret;
    for (const auto& c : gateway->changes) rep.notes.push_back("sut.config: " + c);
  } else if (s.sut.config.strongswan_conf) {
    return fail("sut.config: strongswan_conf needs swanctl_conf (the connections to test) next to it");
  }

  std::optional<charon::AuthMaterial> material;
  if (kind != charon::AuthKind::psk) {
    auto mo = gateway ? charon::gateway_material_options(*gateway, peers, dir + "/auth")
                      : charon::AuthMaterialOptions{kind, peers, dir + "/auth"};
    auto m = charon::make_auth_material(mo);
    if (!m) return fail("making certificates: " + m.error().describe());
    material = std::move(*m);
    rep.notes.push_back(std::string("auth ") + std::string(charon::to_string(kind)) + ": material for " +
                        std::to_string(peers) + " peers made in " + std::to_string(material->generate_seconds) +
                        " s" + (material->shared_peer_key() ? "; the peers share one RSA key" : ""));
    for (const auto& p : charon::auth_extra_plugins(kind)) sio.settings.extra_plugins.push_back(p);
  }

  std::vector<charon::ViciRequest> setup;
  if (gateway) {
    if (material) {
      if (auto st = charon::apply_gateway_auth(*gateway, *material); !st) return fail(st.error().describe());
    }
    for (auto& [k, v] : gateway->sut_user_keys) sio.settings.user_keys.try_emplace(k, v);
    for (const auto& p : gateway->sut_extra_plugins) sio.settings.extra_plugins.push_back(p);
    setup = gateway->sut_requests;
  } else {
    if (material) {
      if (auto st = charon::apply_sut_auth(responder, *material); !st) return fail(st.error().describe());
      for (auto& req : charon::sut_credentials(*material)) setup.push_back(std::move(req));
    }
    auto shared = charon::to_load_shared(secret);
    if (!shared) return fail(shared.error().describe());
    setup.push_back({"load-shared", std::move(*shared)});
    auto conn = charon::to_load_conn(responder);
    if (!conn) return fail(conn.error().describe());
    setup.push_back({"load-conn", std::move(*conn)});
  }

  std::unique_ptr<Sut> sut;
  VmSut* vm_sut = nullptr;
  if (vm_backend) {
    VmSutOptions vo;
    vo.topology = &*topo;
    vo.run_state = ctx.state;
    vo.work_dir = dir + "/sut";
    vo.settings = sio.settings;
    vo.esp_proposals = ro.esp_proposals;
    auto v = VmSut::start(loop, vo, setup);  // a failed start has stopped its guest
    if (!v) {
      (void)topo->teardown();
      return fail(v.error().describe());
    }
    vm_sut = v->get();
    out.sut_log = vm_sut->log_path();
    out.sut_version = vm_sut->daemon_version();
    out.sut_kernel = "Linux " + vm_sut->guest_kernel();  // as host.kernel: sysname release
    rep.notes.push_back("backend vm: SUT charon (kernel-netlink) in a guest running " + vm_sut->guest_kernel() +
                        " (" + vm_sut->accel() + "), booted in " + std::to_string(vm_sut->boot_seconds()) +
                        " s, ESP algorithms loaded in " + std::to_string(vm_sut->warmup_seconds()) + " s");
    // The guest kernel holds the SUT's SAs: observe it (timeseries xfrm.sut, kernel events)
    // instead of the host's SUT namespace.
    auto lines = vm_sut->watch_guest_xfrm();
    Status watched = lines ? kernel.add_lines(loop, "sut", std::move(*lines)) : Status(std::move(lines).error());
    if (!watched) rep.notes.push_back("backend vm: observing the guest kernel's XFRM: " + watched.error().describe());
    sut = std::move(*v);
  } else {
    auto c = CharonSut::start(loop, sio, setup);
    if (!c) {
      (void)topo->teardown();
      return fail(c.error().describe());
    }
    out.sut_log = (*c)->instance().log_path();
    out.sut_version = (*c)->instance().daemon_version();
    sut = std::move(*c);
  }

  // 3. The peers.
  const netns::Topology* tp = &*topo;
  // What every engine needs about the peers; each engine's options extend it.
  fleet::PeerPlan plan;
  plan.peers = peers;
  plan.ike_address = [tp](uint32_t i) { return tp->peer_ike_address(i).str(); };
  plan.inner_address = [tp](uint32_t i) { return tp->peer_inner_address(i).str(); };
  plan.sut_address = ro.local_addr;
  plan.sut_id = responder.local_id;
  plan.remote_ts = ro.local_ts;
  plan.ike_proposals = s.peers.ike.proposals;
  plan.esp_proposals = s.peers.child.proposals;
  plan.ike = ike_lifetimes(eff.peers_ike);
  plan.child = child_lifetimes(eff.peers_child);
  plan.encap = s.peers.encap;
  plan.psk = peer_psk;

  std::unique_ptr<fleet::PeerEngine> engine;
  std::unique_ptr<fleet::DataPlaneSession> traffic;  // scenario traffic: (native engine)
  std::shared_ptr<native::ImpairLayers> impair_layers;
  if (native_engine) {
    fleet::NativeFleetOptions no;
    static_cast<fleet::PeerPlan&>(no) = plan;
    const netns::Namespace* pns = &topo->peers_ns();
    no.run_in = [pns](const std::function<Status()>& fn) { return pns->run_in(fn); };
    no.retransmit = native_retransmit(user_keys(s.peers.charon));
    if (raw_prefix_io) {
      native::RawPrefixIoOptions rio;
      rio.interface = topo->peers_link();
      const auto range = netns::AddressPlan::peer_ike_range(netns::Family::v4);
      std::copy_n(range.address.bytes.begin(), 4, rio.prefix.begin());
      rio.prefix_length = static_cast<unsigned>(range.length);
      rio.run_in = no.run_in;
      no.make_io = native::raw_prefix_maker(rio);
    }
    // peers.impair / peers.flood: decorators around the engine's packet layer.
    if (!s.peers.impair.empty() || !s.peers.flood.empty()) {
      auto layers = native_impair_layers(loop, s, plan, no);
      if (!layers) {
        (void)sut->stop();
        (void)topo->teardown();
        return fail(layers.error().describe());
      }
      impair_layers = *layers;
      no.wrap_io = [l = impair_layers](std::unique_ptr<native::PacketIo> io) { return l->wrap(std::move(io)); };
    }
    auto nf = fleet::NativeFleet::start(loop, no);
    if (!nf) {
      (void)sut->stop();
      (void)topo->teardown();
      return fail("native peers: " + nf.error().describe());
    }
    rep.notes.push_back("peers.engine native: " + std::to_string(peers) +
                        " IKEv2 initiators inside the harness process (their CPU and memory are the harness's), packet layer " +
                        (*nf)->io().name());
    if (auto sut_conf = charon::render_swanctl_conf({responder}, {secret}))
      write_file(dir + "/sut/swanctl.conf", *sut_conf);
    if (s.traffic) {
      auto t = open_traffic(loop, *s.traffic, **nf, *topo, peers, vm_sut);
      if (!t) {
        (void)sut->stop();
        (void)topo->teardown();
        return fail("traffic: " + t.error().describe());
      }
      traffic = std::move(*t);
    }
    engine = std::move(*nf);
  } else {
  fleet::CharonFleetOptions fo;
  static_cast<fleet::PeerPlan&>(fo) = plan;
  fo.daemons = scenario::resolved_daemons(s);
  fo.netns = topo->peers_ns().name();
  fo.work_dir = dir;
  fo.socket_dir = socket_dir;
  fo.state = ctx.state;
  fo.settings.role = charon::Role::initiator;
  fo.settings.backend = ctx.host_esp ? charon::Backend::xfrm : charon::Backend::libipsec;
  if (s.peers.start_action == scenario::StartAction::trap) {
    // Trap policies must be the kernel's for it to raise ACQUIREs: kernel-netlink even on a
    // host without ESP (installing the SA would fail there; see README, peers.start_action).
    fo.trap = true;
    fo.settings.backend = charon::Backend::xfrm;
    fo.trap_target = topo->sut_subnet_address().str();
    const netns::Namespace* pns = &topo->peers_ns();
    fo.run_in = [pns](const std::function<Status()>& fn) { return pns->run_in(fn); };
    rep.notes.push_back("peers.start_action trap: the initiators (kernel-netlink) hold kernel trap policies; each "
                        "peer is started by one UDP datagram from its inner address to " + fo.trap_target +
                        ", whose ACQUIRE starts the IKE_SA");
  }
  fo.settings.filelog = charon::default_filelog(charon::Role::initiator, "");
  fo.settings.user_keys = user_keys(s.peers.charon);
  fo.settings.user_keys.try_emplace("retransmit_tries", kInitiatorRetransmitTries);
  fo.settings.user_keys.try_emplace("retransmit_timeout", kInitiatorRetransmitTimeout);
  if (material) {
    fo.auth = &*material;
    for (const auto& p : charon::auth_extra_plugins(kind)) fo.settings.extra_plugins.push_back(p);
  }
  if (gateway) {
    const charon::GatewayAdaptation* ga = &*gateway;
    const charon::AuthMaterial* gm = material ? &*material : nullptr;
    auto peer_ike = plan.ike;
    auto peer_child = plan.child;
    fo.make_conn = [ga, gm, tp, peer_ike, peer_child](uint32_t i) {
      auto c = charon::gateway_peer_conn(*ga, i, tp->peer_ike_address(i).str(), tp->peer_inner_address(i).str(), gm);
      c.ike = peer_ike;
      c.child = peer_child;
      return c;
    };
    fo.auth = nullptr;  // gateway_peer_conn already put the certificate in
  }
  auto fleet = fleet::CharonFleet::start(loop, fo);
  if (!fleet) {
    (void)sut->stop();
    (void)topo->teardown();
    return fail(fleet.error().describe());
  }
  out.peer_logs = (*fleet)->daemon_logs();
  rep.notes.push_back("loaded " + std::to_string(peers) + " peer connections in " +
                      std::to_string((*fleet)->load_seconds()) + " s");

  // The configs people read: the SUT's connection and a sample of the peers'.
  {
    if (gateway) {
      write_file(dir + "/sut/swanctl.conf", charon::render_gateway_swanctl_conf(*gateway));
    } else if (auto sut_conf = charon::render_swanctl_conf({responder}, {secret})) {
      write_file(dir + "/sut/swanctl.conf", *sut_conf);
    }
    std::vector<charon::ConnSpec> sample;
    for (uint32_t i = 0; i < std::min<uint32_t>(peers, 3); ++i) sample.push_back((*fleet)->conn_for(i));
    auto peers_conf = charon::render_swanctl_conf(sample, {secret});
    if (peers_conf)
      write_file(dir + "/peers-sample.swanctl.conf",
                 "# the first " + std::to_string(sample.size()) + " of " + std::to_string(peers) +
                     " peer connections; the others differ only in index, addresses and id\n" + *peers_conf);
  }

  engine = std::move(*fleet);
  }

  // 4. The phases.
  OrchestratorPlan oplan = kernel_sampled(orchestrator_plan(s, eff));
  if (traffic) {
    oplan.on_hold_start = [&traffic](std::chrono::milliseconds hold) { traffic->hold_started(hold); };
    oplan.on_hold_end = [&traffic] { traffic->hold_ended(); };
  }
  Orchestrator orch(loop, *engine, *sut, std::move(oplan), ctx.progress);
  OrchestratorResult r = orch.execute();
  if (traffic) {
    fill_data_report(*traffic, out.sut_log, r.timeseries, rep);
    traffic->close();
  }
  if (impair_layers)
    for (auto& line : impair_layers->summary()) rep.notes.push_back(std::move(line));
  const auto& tr = orch.tracker();
  if (tr.rekey_failures_not_kept())
    rep.notes.push_back(std::to_string(tr.rekey_failures_not_kept()) + " failed rekeys after the first " +
                        std::to_string(fleet::PeerTracker::kMaxRekeyFailures) +
                        " were counted but not kept, so they are not in the classified failures");

  // 5. Teardown, in order: peers, SUT, network.
  if (auto st = engine->stop(); !st) rep.notes.push_back("peer daemons: " + st.error().describe());
  if (vm_sut) {
    // The guest kernel's ESP states when the SUT counted its IKE_SAs (end of connect).
    rep.summary.xfrm_states = vm_sut->esp_states_at_count().value_or(0);
    // Evidence of kernel SAs: that count, or the guest's XFRM watcher having seen SAs (the
    // count can be missing when the saturated SUT did not answer in time).
    bool watcher_saw_sas = false;
    for (const auto& pt : r.timeseries)
      if (auto it = pt.xfrm.find("sut"); it != pt.xfrm.end() && it->second.sas > 0) watcher_saw_sas = true;
    out.real_xfrm = rep.summary.xfrm_states > 0 || watcher_saw_sas;
  }
  if (auto st = sut->stop(); !st) rep.notes.push_back(st.error().describe());
  kernel.stop();
  if (auto st = topo->teardown(); !st) rep.notes.push_back("topology teardown: " + st.error().describe());

  // 6. The report.
  out.interrupted = r.interrupted;
  if (r.interrupted) rep.outcome = "interrupted";
  if (!r.fault.empty()) {
    // A daemon dying is data about the SUT: record it, do not call it a harness fault.
    rep.notes.push_back(r.fault);
    if (rep.outcome == "complete") rep.outcome = "sut-died";
  }
  auto& sm = rep.summary;
  sm.established = r.established_at_connect_end;
  sm.established_ratio = peers ? static_cast<double>(sm.established) / peers : 0;
  sm.failed = r.failed_at_connect_end;
  double window = r.connect_last_established_s - r.connect_first_initiate_s;
  sm.setup_rate_per_s = window > 0 ? static_cast<double>(sm.established) / window
                                   : static_cast<double>(sm.established);
  sm.setup_latency_ms = reports::summarize_latency(r.connect_latencies_ms);
  rep.setup_latency_samples = r.connect_latencies_ms;
  sm.rekeys.ike = tr.ike_rekeys();
  sm.rekeys.child = tr.child_rekeys();
  if (r.hold_wall_s > 0) {
    // Steady state: from each SA's own rekey intervals in hold (see PeerTracker).
    sm.renegotiations_per_min_wall = r.hold_rekey_rate_per_s * 60.0;
    sm.renegotiations_per_min = sm.renegotiations_per_min_wall / s.time_scale;
  }
  sm.cpu_s.sut = r.sut_usage.cpu_s;
  sm.cpu_s.peers = r.peers_usage.cpu_s;
  sm.rss_mb.sut = r.sut_usage.rss_peak_mb;
  sm.rss_mb.peers = r.peers_usage.rss_peak_mb;
  sm.sut_ike_sas_at_connect_end = r.sut_established_at_connect_end.value_or(0);
  if (!r.sut_count_problem.empty())
    rep.notes.push_back(r.sut_count_problem + "; sut_ike_sas_at_connect_end (and on vm xfrm_states) read 0");
  if (!r.phases.empty()) sm.wall_s = r.phases.back().end_s;
  rep.timeseries = std::move(r.timeseries);

  // Kernel events next to the IKE events of the peer they name (by IKE or inner address).
  std::vector<ClassifyInput::KernelEvent> kernel_events;
  {
    std::unordered_map<std::string, uint32_t> peer_of;
    for (uint32_t i = 0; i < peers; ++i) {
      peer_of.emplace(tp->peer_ike_address(i).str(), i);
      peer_of.emplace(tp->peer_inner_address(i).str(), i);
    }
    for (const auto& k : xfrm::join_with_peers(kernel.events(), peer_of)) {
      const double t_ms = std::max(0.0, ms_between(orch.start_time(), k.t));
      kernel_events.push_back({k.peer, static_cast<int64_t>(t_ms), k.role, k.kind, k.detail});
      if (k.peer < r.timelines.size()) r.timelines[k.peer].push_back({t_ms, "kernel_" + k.kind, k.role + ": " + k.detail});
    }
    if (!kernel_events.empty())
      for (auto& tl : r.timelines)
        std::stable_sort(tl.begin(), tl.end(), [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
    if (kernel.losses() || kernel.dropped_events())
      rep.notes.push_back("kernel XFRM observer: " + std::to_string(kernel.losses()) + " notification overrun(s), " +
                          std::to_string(kernel.dropped_events()) + " event(s) not kept; counts stay exact");
    for (auto& p : kernel.feed_problems()) rep.notes.push_back("kernel XFRM observer: " + p);
  }

  // 7. What the failures mean, in Windows codes.
  {
    ClassifyInput ci;
    ci.tracker = &tr;
    for (uint32_t i = 0; i < peers; ++i) {
      ci.peer_names.push_back(fleet::peer_conn_name(i));
      ci.peer_addresses.push_back(tp->peer_ike_address(i).str());
    }
    ci.run_start = orch.start_time();
    ci.run_start_wall = r.wall_start;
    ci.deadline_ike = s.peers.deadline_ike;
    ci.deadline_child = s.peers.deadline_child;
    ci.sut_log = out.sut_log;
    for (const auto& span : r.phases)
      if (span.phase == "teardown") ci.teardown_start_s = span.start_s;
    ci.kernel_events = std::move(kernel_events);
    classify_point(ci, rep);
  }

  for (uint32_t i = 0; i < peers; ++i) {
    const auto& pr = tr.peer(i);
    bool ended_ok = pr.state == fleet::PeerState::established || pr.state == fleet::PeerState::down ||
                    pr.state == fleet::PeerState::idle;
    if (i >= kTimelinePeers && ended_ok) continue;
    reports::PeerTimeline tl;
    tl.peer = fleet::peer_conn_name(i);
    tl.address = tp->peer_ike_address(i).str();
    tl.state = pr.child_up_at ? "established" : fleet::to_string(pr.state);
    if (pr.state == fleet::PeerState::failed) tl.state = "failed";
    tl.events = std::move(r.timelines[i]);
    rep.peers.push_back(std::move(tl));
  }
  return out;
}

}  // namespace ist::run
