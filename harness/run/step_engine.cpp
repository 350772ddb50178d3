#include "charon/auth_material.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

// The peer engines, by peers.engine. A new engine is its own file (an EngineKind) and one
// line here.
const EngineKind& engine_kind_for(scenario::Engine engine) {
  if (engine == scenario::Engine::native) return native_engine();
  return charon_fleet_engine();
}

// 3. The peers: what every engine needs about them; each engine's options extend it.
fleet::PeerPlan peer_plan(const PointRun& run, const SutPlan& sut, const netns::Topology& topo) {
  const scenario::Scenario& s = run.s;
  const netns::Topology* tp = &topo;
  fleet::PeerPlan plan;
  plan.peers = run.peers;
  plan.ike_address = [tp](uint32_t i) { return tp->peer_ike_address(i).str(); };
  plan.inner_address = [tp](uint32_t i) { return tp->peer_inner_address(i).str(); };
  plan.sut_address = sut.responder_options.local_addr;
  plan.sut_id = sut.responder.local_id;
  plan.remote_ts = sut.responder_options.local_ts;
  plan.ike_proposals = sut.peer_ike_proposals.empty() ? s.peers.ike.proposals : sut.peer_ike_proposals;
  plan.esp_proposals = sut.peer_esp_proposals.empty() ? s.peers.child.proposals : sut.peer_esp_proposals;
  plan.unique = sut.peer_unique;
  // The harness's own SUT sends its certificate always; someone else's gateway when asked.
  plan.send_certreq = s.target.has_value() && sut.auth != charon::AuthKind::psk;
  plan.ike = ike_lifetimes(run.eff.peers_ike);
  plan.child = child_lifetimes(run.eff.peers_child);
  plan.encap = s.peers.encap;
  plan.psk = sut.peer_psk;
  // Identities follow the global index (one of several generators drives peers first..).
  const auto first = static_cast<uint32_t>(s.peers.first_index);
  if (!sut.peer_id_pattern.empty())
    plan.peer_id = [pattern = sut.peer_id_pattern, first](uint32_t i) {
      return charon::peer_id_from_pattern(pattern, first + i);
    };
  else if (first != 0)
    plan.peer_id = [first](uint32_t i) { return charon::peer_identity(first + i); };
  return plan;
}

}  // namespace ist::run
