// The report: the run's summary from the orchestrator's result, and the per-peer timelines.
#include "fleet/charon_events.hpp"
#include "run/point_steps.hpp"
#include "run/point_verdict.hpp"
#include "reports/timeline_metrics.hpp"

namespace ist::run {

namespace {

// Keeps report.json readable for big runs: full timelines for up to this many peers, and
// for every peer that did not end established.
constexpr std::size_t kTimelinePeers = 2000;

}  // namespace

// 6. The report.
void fill_summary(PointRun& run, OrchestratorResult& r, const fleet::PeerTracker& tr) {
  reports::RunReport& rep = run.rep;
  PointOutcome& out = run.out;
  const uint32_t peers = run.peers;
  out.interrupted = r.interrupted;
  if (r.interrupted) rep.outcome = "interrupted";
  auto& sm = rep.summary;
  sm.established = r.established_at_connect_end;
  sm.established_ratio = peers ? static_cast<double>(sm.established) / peers : 0;
  sm.failed = r.failed_at_connect_end;
  double window = r.connect_last_established_s - r.connect_first_initiate_s;
  sm.setup_rate_per_s = window > 0 ? static_cast<double>(sm.established) / window
                                   : static_cast<double>(sm.established);
  sm.setup_latency_ms = reports::summarize_latency(r.connect_latencies_ms);
  sm.tunnel_attempts_per_s =
      reports::rate_over(r.connect_attempts, r.connect_first_initiate_s, r.connect_last_initiate_s);
  rep.setup_latency_samples = r.connect_latencies_ms;
  sm.rekeys.ike = tr.ike_rekeys();
  sm.rekeys.child = tr.child_rekeys();
  if (r.hold_wall_s > 0) {
    // Steady state: from each SA's own rekey intervals in hold (see PeerTracker).
    sm.renegotiations_per_min_wall = r.hold_rekey_rate_per_s * 60.0;
    sm.renegotiations_per_min = sm.renegotiations_per_min_wall / run.s.time_scale;
  }
  sm.cpu_s.sut = r.sut_usage.cpu_s;
  sm.cpu_s.peers = r.peers_usage.cpu_s;
  sm.rss_mb.sut = r.sut_usage.rss_peak_mb;
  sm.rss_mb.peers = r.peers_usage.rss_peak_mb;
  sm.sut_ike_sas_at_connect_end = r.sut_established_at_connect_end.value_or(0);
  if (!r.sut_count_problem.empty())
    rep.notes.push_back(r.sut_count_problem + "; sut_ike_sas_at_connect_end (and on vm xfrm_states) read 0");
  if (!r.phases.empty()) sm.wall_s = r.phases.back().end_s;
  // Real kernel XFRM only from evidence: the guest's ESP states when the SUT counted its
  // IKE_SAs (vm), SAs the kernel observer saw in the SUT's namespace (any backend), or a
  // target gateway's loaded plugins (after_phases) once it made CHILD_SAs at all.
  const bool kind_evidence = out.real_xfrm;
  out.real_xfrm = kernel_held_sas(sm.xfrm_states, r.timeseries) || (kind_evidence && sm.established > 0);
  if (kind_evidence && !out.real_xfrm) rep.notes.push_back("real_xfrm false: no CHILD_SA was established");
  reports::summarize_timeline(r.timeseries, sm);
  rep.timeseries = std::move(r.timeseries);
}

void fill_peer_timelines(PointRun& run, const netns::Topology& topo, const fleet::PeerTracker& tr,
                         OrchestratorResult& r) {
  const netns::Topology* tp = &topo;
  for (uint32_t i = 0; i < run.peers; ++i) {
    const auto& pr = tr.peer(i);
    bool ended_ok = pr.state == fleet::PeerState::established || pr.state == fleet::PeerState::down ||
                    pr.state == fleet::PeerState::idle;
    if (i >= kTimelinePeers && ended_ok) continue;
    reports::PeerTimeline tl;
    tl.peer = peer_label(run, i);
    tl.address = tp->peer_ike_address(i).str();
    tl.state = pr.child_up_at ? "established" : fleet::to_string(pr.state);
    if (pr.state == fleet::PeerState::failed) tl.state = "failed";
    tl.events = r.timelines.take(i);  // in time order, kernel events among the peer's own
    run.rep.peers.push_back(std::move(tl));
  }
}

}  // namespace ist::run
