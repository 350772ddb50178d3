#include "run/run_point.hpp"

#include "run/point_steps.hpp"
#include "run/point_verdict.hpp"

namespace ist::run {

// One point as a composition of named steps (run/point_steps.hpp lists them and their files).
// Every return leaves through `parts`, which stops what was started in order: the peer
// engine, the SUT, the kernel observer, the topology.
PointOutcome run_point(const scenario::SweepPoint& point, const PointContext& ctx) {
  PointRun run(point, ctx);
  begin_point(run);
  // The scenario validator refused what an engine cannot do (exit 2): nothing to check here.
  const EngineKind& engine = engine_kind_for(run.s.peers.engine);

  EventLoop loop;
  if (!loop.valid()) return run.fail("epoll_create1 failed");
  SutPlan sut;         // outlives the parts that point into it (the charon fleet's auth, gateway)
  StartedParts parts;  // declared after the loop and the plan: stopped before they go

  // 1. The network, and the kernel's XFRM side of it.
  if (auto st = build_topology(run, engine, parts); !st) return run.fail(st.error());
  observe_kernel(loop, run, parts);
  // 2. The SUT: what it runs, then its kind starts it.
  parts.sut = sut_part_for(run.s, ctx.backend);
  if (auto st = plan_sut(run, parts, sut); !st) return run.fail(st.error());
  if (auto st = parts.sut->start(loop, sut, run, parts); !st) return run.fail(st.error());
  // 3. The peers, and the data plane's traffic through their tunnels.
  if (auto st = engine.start(loop, sut, run, parts); !st) return run.fail(st.error());
  if (auto st = open_traffic(loop, run, parts); !st) return run.fail(st.error());
  if (!wait_for_start(run)) return std::move(run.out);  // Ctrl-C while waiting: interrupted

  // 4. The phases.
  Orchestrator orch(loop, *parts.engine, *parts.sut->sut(), phases_plan(loop, run, parts), ctx.progress);
  OrchestratorResult r = orch.execute();
  note_after_phases(run, parts, orch, r);
  parts.sut->after_phases(r.timeseries, run.out);

  // 5. Teardown, in order: peers, SUT, kernel observer, network.
  parts.stop(&run.rep.notes);

  // 6. The report; 7. what the failures mean, in Windows codes.
  fill_summary(run, r, orch.tracker());
  classify(run, parts, orch, r);
  apply_verdict(r, orch.tracker(), run.out.sut_log, run.rep);  // the SUT's fate, the harness's faults
  fill_peer_timelines(run, *parts.topo, orch.tracker(), r);
  return std::move(run.out);
}

}  // namespace ist::run
