// The phases: the scenario's phase list as the orchestrator's plan, the observers hooked on
// its ticks and holds, and what the engine and the data plane saw once it is over.
#include "reports/timeline_metrics.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

namespace {

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

}  // namespace

// 4. The phases, with the kernel sampled at every tick and the traffic run in the holds.
OrchestratorPlan phases_plan(EventLoop& loop, PointRun& run, StartedParts& parts) {
  OrchestratorPlan oplan = orchestrator_plan(run.s, run.eff);
  oplan.sut_unresponsive_after = run.s.sut.unresponsive_after;
  xfrm::RunObserver* kernel = &parts.kernel;
  oplan.on_tick = [kernel, &loop](reports::TimeseriesPoint& pt) {
    put_kernel_samples(kernel->sample(loop.clock().now()), pt);
  };
  if (parts.traffic) {
    auto* traffic = &parts.traffic;
    oplan.on_hold_start = [traffic](std::chrono::milliseconds hold) { (*traffic)->hold_started(hold); };
    oplan.on_hold_end = [traffic] { (*traffic)->hold_ended(); };
    oplan.on_established = [traffic](uint32_t peer, MonoTime initiated, MonoTime) {
      (*traffic)->tunnel_up(peer, initiated);
    };
  }
  return oplan;
}

void note_after_phases(PointRun& run, StartedParts& parts, const Orchestrator& orch, const OrchestratorResult& r) {
  reports::RunReport& rep = run.rep;
  finish_traffic(run, parts, r.timeseries, orch.start_time());
  const auto& tr = orch.tracker();
  if (parts.impair_layers) {
    for (auto& line : parts.impair_layers->summary()) rep.notes.push_back(std::move(line));
    if (auto w = parts.impair_layers->flood_window()) {
      // The healthy peers' setups in the flood's window against the one before it.
      auto since_start_s = [&](MonoTime t) { return ms_between(orch.start_time(), t) / 1000.0; };
      std::vector<double> established_s;
      for (MonoTime t : tr.established_times()) established_s.push_back(since_start_s(t));
      const double first = tr.first_initiate() ? since_start_s(*tr.first_initiate()) : 0;
      rep.summary.dos_resilience =
          reports::dos_resilience(established_s, first, since_start_s(w->first), since_start_s(w->second));
    }
  }
  if (tr.rekey_failures_not_kept())
    rep.notes.push_back(std::to_string(tr.rekey_failures_not_kept()) + " failed rekeys after the first " +
                        std::to_string(fleet::PeerTracker::kMaxRekeyFailures) +
                        " were counted but not kept, so they are not in the classified failures");
}

}  // namespace ist::run
