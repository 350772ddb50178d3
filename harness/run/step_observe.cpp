#include <algorithm>
#include <unordered_map>

#include "fleet/charon_events.hpp"
#include "run/classify_run.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

// The kernel's XFRM side of both namespaces, sampled at every tick (harness/xfrm). A SUT kind
// whose kernel is elsewhere replaces the SUT namespace's (sut_kind_vm.cpp).
void observe_kernel(EventLoop& loop, PointRun& run, StartedParts& parts) {
  for (const netns::Namespace* ns : {&parts.topo->sut_ns(), &parts.topo->peers_ns()}) {
    if (!ns->valid()) continue;  // a target: the gateway's kernel is not ours to watch
    auto st = parts.kernel.add(loop, ns->role(), [ns](const std::function<Status()>& fn) { return ns->run_in(fn); });
    if (!st) run.rep.notes.push_back("kernel XFRM observer for " + ns->name() + ": " + st.error().describe());
  }
}

// One kernel's second in the report's shape; the SUT's deltas also go to pt.xfrm_stat (the
// report contract's field).
void put_kernel_samples(std::vector<xfrm::KernelSample> samples, reports::TimeseriesPoint& pt) {
  for (auto& k : samples) {
    reports::XfrmSample x;
    x.sas = k.counts.sas;
    x.policies_in = k.counts.policies.in;
    x.policies_out = k.counts.policies.out;
    x.policies_fwd = k.counts.policies.fwd;
    x.acquires = k.acquires;
    x.expires = k.expires;
    x.xfrm_stat = std::move(k.xfrm_stat_delta);
    if (k.role == "sut") pt.xfrm_stat = x.xfrm_stat;
    pt.xfrm[k.role] = std::move(x);
  }
}

namespace {

// Kernel events next to the IKE events of the peer they name (by IKE or inner address).
std::vector<ClassifyInput::KernelEvent> kernel_events(PointRun& run, StartedParts& parts, const Orchestrator& orch,
                                                      OrchestratorResult& r) {
  const netns::Topology* tp = &*parts.topo;
  const xfrm::RunObserver& kernel = parts.kernel;
  reports::RunReport& rep = run.rep;
  std::vector<ClassifyInput::KernelEvent> kernel_events;
  {
    std::unordered_map<std::string, uint32_t> peer_of;
    for (uint32_t i = 0; i < run.peers; ++i) {
      peer_of.emplace(tp->peer_ike_address(i).str(), i);
      peer_of.emplace(tp->peer_inner_address(i).str(), i);
    }
    for (const auto& k : xfrm::join_with_peers(kernel.events(), peer_of)) {
      const double t_ms = std::max(0.0, ms_between(orch.start_time(), k.t));
      kernel_events.push_back({k.peer, static_cast<int64_t>(t_ms), k.role, k.kind, k.detail});
      r.timelines.add(k.peer, {t_ms, "kernel_" + k.kind, k.role + ": " + k.detail});
    }
    if (kernel.losses() || kernel.dropped_events())
      rep.notes.push_back("kernel XFRM observer: " + std::to_string(kernel.losses()) + " notification overrun(s), " +
                          std::to_string(kernel.dropped_events()) + " event(s) not kept; counts stay exact");
    for (auto& p : kernel.feed_problems()) rep.notes.push_back("kernel XFRM observer: " + p);
  }
  return kernel_events;
}

}  // namespace

void classify(PointRun& run, StartedParts& parts, const Orchestrator& orch, OrchestratorResult& r) {
  std::vector<ClassifyInput::KernelEvent> kernel = kernel_events(run, parts, orch, r);
  const scenario::Scenario& s = run.s;
  const netns::Topology* tp = &*parts.topo;
  // 7. What the failures mean, in Windows codes.
  {
    ClassifyInput ci;
    ci.tracker = &orch.tracker();
    for (uint32_t i = 0; i < run.peers; ++i) {
      ci.peer_names.push_back(peer_label(run, i));
      ci.peer_addresses.push_back(tp->peer_ike_address(i).str());
    }
    ci.run_start = orch.start_time();
    ci.sut_shared = run.s.target.has_value();
    ci.run_start_wall = r.wall_start;
    ci.deadline_ike = s.peers.deadline_ike;
    ci.deadline_child = s.peers.deadline_child;
    ci.sut_log = run.out.sut_log;
    for (const auto& span : r.phases)
      if (span.phase == "teardown") ci.teardown_start_s = span.start_s;
    ci.kernel_events = std::move(kernel);
    classify_point(ci, run.rep);
  }
}

}  // namespace ist::run
