// The scenario's traffic block (the native engine's data plane) and its report.
#include <fstream>
#include <sstream>

#include "fleet/charon_events.hpp"
#include "reports/timeline_metrics.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

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

namespace {

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

// time_to_first_packet_ms: each sending tunnel's first packet went out as it came up.
void fill_first_packet(const fleet::DataPlaneSession& t, MonoTime t0, reports::RunReport& rep) {
  std::vector<reports::FirstPacketTimes> tunnels;
  uint64_t back = 0;
  for (const auto& f : t.first_packets()) {
    reports::FirstPacketTimes ft{ms_between(t0, f.initiated), std::nullopt};
    if (f.first_echo) {
      ft.first_echo_ms = ms_between(t0, *f.first_echo);
      ++back;
    }
    tunnels.push_back(ft);
  }
  rep.summary.time_to_first_packet_ms = reports::summarize_first_packet(tunnels);
  if (tunnels.empty()) return;
  rep.notes.push_back("traffic: " + std::to_string(tunnels.size()) +
                      " tunnels sent their first packet as their CHILD_SA came up; " + std::to_string(back) +
                      " had a probe back through the tunnel (time_to_first_packet_ms is over those)");
}

}  // namespace

// Flows from the peers' inner addresses through their CHILD_SAs to a sink at the SUT's
// protected-subnet address (the SUT kind places the sink).
// peers.trap_traffic: a counting sink (no echo) at the SUT's protected address, in the SUT
// namespace; the charon fleet sends the datagrams (engine_charon.cpp).
Status open_trap_traffic_sink(EventLoop& loop, PointRun& run, StartedParts& parts) {
  const netns::Topology& topo = *parts.topo;
  fleet::DataPlaneSessionOptions o;
  std::copy_n(topo.sut_subnet_address().bytes.begin(), 4, o.plane.sink_address.begin());
  if (auto st = parts.sut->place_data_sink(o, topo); !st) return Error("peers.trap_traffic: " + st.error().describe());
  if (!o.open_sink_socket)
    return Error("peers.trap_traffic: the SUT's protected address is not in a namespace of this run (backend vm "
                 "keeps it in its guest); use backend xfrm, e.g. run --in-vm");
  IST_TRY_ASSIGN(unique_fd fd, o.open_sink_socket());
  IST_TRY(fleet::bind_udp4(fd.get(), o.plane.sink_address, o.plane.sink_port));
  auto inner_of = [&topo](uint32_t peer) {
    std::array<uint8_t, 4> a{};
    std::copy_n(topo.peer_inner_address(peer).bytes.begin(), 4, a.begin());
    return a;
  };
  IST_TRY_ASSIGN(parts.trap_sink, fleet::DataSink::open(loop, std::move(fd), inner_of, false));
  (void)run;
  return ok();
}

Status open_traffic(EventLoop& loop, PointRun& run, StartedParts& parts) {
  if (run.s.peers.trap_traffic_per_s > 0 && parts.charon) return open_trap_traffic_sink(loop, run, parts);
  if (!run.s.traffic || !parts.native) return ok();  // traffic needs the native engine
  const scenario::Traffic& t = *run.s.traffic;
  fleet::NativeFleet& nf = *parts.native;
  const netns::Topology& topo = *parts.topo;
  if (topo.sut_subnet_address().family != AF_INET)
    return Error("traffic: the data plane carries IPv4 inner packets only; it does not run with IPv6 peers yet");
  fleet::DataPlaneSessionOptions o;
  if (t.peer_count) o.spec.peer_count = static_cast<uint32_t>(*t.peer_count);
  o.spec.peer_share = t.peer_share;
  o.spec.rate_per_s = t.rate_per_s;
  o.spec.size = t.size;
  o.spec.duration = t.duration;
  o.spec.faults[static_cast<size_t>(fleet::ProbeKind::bad_spi)] = t.faults.bad_spi;
  o.spec.faults[static_cast<size_t>(fleet::ProbeKind::replay)] = t.faults.replay;
  o.spec.faults[static_cast<size_t>(fleet::ProbeKind::after_expiry)] = t.faults.after_expiry;
  o.peers = run.peers;
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
  if (auto st = parts.sut->place_data_sink(o, topo); !st) return Error("traffic: " + st.error().describe());
  auto session = fleet::DataPlaneSession::open(loop, nf.io(), std::move(o));
  if (!session) return Error("traffic: " + session.error().describe());
  fleet::DataPlaneSession* sp = session->get();
  nf.set_esp_receiver([sp](uint32_t peer, const native::PacketDatagram& d) { sp->plane().on_esp(peer, d); });
  parts.traffic = std::move(*session);
  return ok();
}

// summary.trap_traffic and trap_traffic_peers: the sender's counts against the sink's, and the
// kernels' own counts of what they dropped for want of an SA.
void fill_trap_traffic_report(PointRun& run, const fleet::CharonFleet& fleet, const fleet::DataSink& sink,
                              const std::vector<reports::TimeseriesPoint>& series, double connect_end_s) {
  reports::TrapTrafficSummary t;
  const auto& counts = fleet.trap_traffic();
  for (uint32_t p = 0; p < counts.size(); ++p) {
    const auto& c = counts[p];
    if (c.sent == 0 && c.send_errors == 0) continue;
    const uint64_t got = sink.peer(p).received;
    reports::TrapTrafficPeer tp{peer_label(run, p), c.sent, c.send_errors, got, c.sent - std::min(c.sent, got), 0};
    ++t.peers;
    t.sent += tp.sent;
    t.send_errors += tp.send_errors;
    t.received_by_sut += tp.received_by_sut;
    t.lost += tp.lost;
    run.rep.trap_traffic_peers.push_back(std::move(tp));
  }
  t.misrouted = sink.misrouted();
  t.unrecognized = sink.unrecognized();
  // A point's delta covers the second before its t_s.
  auto sum = [&](const char* ns, const char* counter, double from_s = -1e9) {
    int64_t n = 0;
    for (const auto& pt : series) {
      if (pt.t_s - 1 < from_s) continue;
      if (auto it = pt.xfrm.find(ns); it != pt.xfrm.end())
        if (auto c = it->second.xfrm_stat.find(counter); c != it->second.xfrm_stat.end()) n += c->second;
    }
    return n;
  };
  t.peers_xfrm_out_no_states = sum("peers", "XfrmOutNoStates");
  t.sut_xfrm_in_no_states = sum("sut", "XfrmInNoStates");
  t.peers_xfrm_out_no_states_after_connect = sum("peers", "XfrmOutNoStates", connect_end_s);
  t.lost_is_no_state = t.lost > 0 && static_cast<int64_t>(t.lost) == t.peers_xfrm_out_no_states;
  if (t.send_errors > 0)
    run.rep.notes.push_back("trap traffic: the kernel refused " + std::to_string(t.send_errors) +
                            " send(s), the first " + fleet.trap_traffic_first_error());
  run.rep.trap_traffic = t;
}

void finish_traffic(PointRun& run, StartedParts& parts, const std::vector<reports::TimeseriesPoint>& series,
                    MonoTime t0, double connect_end_s) {
  if (parts.trap_sink && parts.charon) {
    fill_trap_traffic_report(run, *parts.charon, *parts.trap_sink, series, connect_end_s);
    parts.trap_sink->close();
  }
  if (!parts.traffic) return;
  fill_data_report(*parts.traffic, run.out.sut_log, series, run.rep);
  fill_first_packet(*parts.traffic, t0, run.rep);
  parts.traffic->close();
}

}  // namespace ist::run
