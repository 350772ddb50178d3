#include "netns/sysctl.hpp"
#include "netns/target_host_check.hpp"
#include "run/point_steps.hpp"
#include "run/target_host.hpp"

namespace ist::run {

// 1. The network: two namespaces, the link between them (rate, loss), the peers' addresses;
// or, with target:, the peers' namespace on a macvlan of the host interface.
Status build_topology(PointRun& run, const EngineKind& engine, StartedParts& parts) {
  const scenario::Scenario& s = run.s;
  netns::TopologySpec spec;
  spec.peer_count = run.peers;
  spec.peer_family = s.peers.family == scenario::AddressFamily::ipv6 ? netns::Family::v6 : netns::Family::v4;
  IST_TRY_ASSIGN(spec.peer_addresses, engine.peer_addresses());
  if (s.target) {
    IST_TRY_ASSIGN(spec.target, target_network(*s.target));
    // The loader judged the host already; this reads the next hop to an off-link gateway.
    netns::TargetHostCheck host = netns::check_target_host(*spec.target);
    if (!host.problems.empty()) return Error("target: " + host.problems.front());
    spec.target->via = host.via;
  }
  if (s.link.rate_bits_per_s) spec.link.rate_bits_per_s = *s.link.rate_bits_per_s;
  spec.link.loss_percent = s.link.loss * 100.0;
  auto topo = netns::Topology::build(*run.ctx.state, spec);
  if (!topo) return Error("building the topology: " + topo.error().describe());
  parts.topo = std::move(*topo);
  run.rep.notes.push_back("topology built in " + std::to_string(parts.topo->timings().total_s) + " s");
  if (auto note = netns::skipped_sysctls_note(parts.topo->skipped_sysctls()); !note.empty())
    run.rep.notes.push_back(note);
  return ok();
}

}  // namespace ist::run
