// peers.engine charon: a fleet of charon daemons in the peers' namespace (harness/fleet).
#include "charon/settings.hpp"
#include "fleet/charon_fleet.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

namespace {

constexpr size_t kTrapTrafficSize = 64;  // bytes of UDP payload per trap-traffic datagram

class CharonFleetEngine final : public EngineKind {
 public:
  Status start(EventLoop& loop, const SutPlan& sut, PointRun& run, StartedParts& parts) const override;
};

// The charon fleet's options: the peers' plan, their daemons' settings, auth and trap.
fleet::CharonFleetOptions fleet_options(PointRun& run, const SutPlan& sut, const StartedParts& parts) {
  const netns::Topology& topo = *parts.topo;
  const scenario::Scenario& s = run.s;
  const PointContext& ctx = run.ctx;
  const netns::Topology* tp = &topo;
  const fleet::PeerPlan plan = peer_plan(run, sut, topo);
  fleet::CharonFleetOptions fo;
  static_cast<fleet::PeerPlan&>(fo) = plan;
  fo.daemons = scenario::resolved_daemons(s);
  fo.netns = topo.peers_ns().name();
  fo.work_dir = run.dir;
  fo.socket_dir = parts.socket_dir.path;
  fo.state = ctx.state;
  fo.settings.role = charon::Role::initiator;
  fo.settings.backend = ctx.host_esp ? charon::Backend::xfrm : charon::Backend::libipsec;
  if (s.peers.start_action == scenario::StartAction::trap) {
    // Trap policies must be the kernel's for it to raise ACQUIREs: kernel-netlink even on a
    // host without ESP (installing the SA would fail there; see README, peers.start_action).
    fo.trap = true;
    fo.settings.backend = charon::Backend::xfrm;
    fo.trap_target = topo.sut_subnet_address().str();
    const netns::Namespace* pns = &topo.peers_ns();
    fo.run_in = [pns](const std::function<Status()>& fn) { return pns->run_in(fn); };
    run.rep.notes.push_back("peers.start_action trap: the initiators (kernel-netlink) hold kernel trap policies; each "
                            "peer is started by one UDP datagram from its inner address to " + fo.trap_target +
                            ", whose ACQUIRE starts the IKE_SA");
    if (s.peers.trap_traffic_per_s > 0) {
      // The datagrams carry the data plane's probe tag, so the sink at the SUT's protected
      // address counts them per peer (open_traffic places it).
      fo.trap_traffic_per_s = s.peers.trap_traffic_per_s;
      fo.trap_port = fleet::DataPlaneOptions{}.sink_port;
      fo.trap_payload = [](uint32_t peer, uint64_t n) {
        return fleet::encode_probe({fleet::ProbeKind::normal, false, peer, n}, kTrapTrafficSize);
      };
      run.rep.notes.push_back("peers.trap_traffic: each started peer sends " + std::to_string(s.peers.trap_traffic_per_s) +
                              " datagrams/s from its inner address to " + fo.trap_target + ":" +
                              std::to_string(fo.trap_port) + " through its kernel policy until it is terminated");
    }
  }
  fo.settings.filelog = charon::default_filelog(charon::Role::initiator, "");
  fo.settings.user_keys = user_keys(s.peers.charon);
  fo.settings.user_keys.try_emplace("retransmit_tries", kInitiatorRetransmitTries);
  fo.settings.user_keys.try_emplace("retransmit_timeout", kInitiatorRetransmitTimeout);
  const auto& material = sut.material;
  const auto& gateway = sut.gateway;
  if (material) {
    fo.auth = &*material;
    for (const auto& p : charon::auth_extra_plugins(sut.auth)) fo.settings.extra_plugins.push_back(p);
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
  }
  return fo;
}

// The configs people read: the SUT's connection and a sample of the peers'.
void write_configs(PointRun& run, const SutPlan& sut, const fleet::CharonFleet& fleet) {
  const std::string& dir = run.dir;
  const uint32_t peers = run.peers;
  if (run.s.target) {
    // The gateway is its operator's: no SUT config of ours to show.
  } else if (sut.gateway) {
    write_file(dir + "/sut/swanctl.conf", charon::render_gateway_swanctl_conf(*sut.gateway), run.rep.notes, 0600);
  } else if (auto sut_conf = charon::render_swanctl_conf({sut.responder}, {sut.secret})) {
    write_file(dir + "/sut/swanctl.conf", *sut_conf, run.rep.notes, 0600);
  }
  std::vector<charon::ConnSpec> sample;
  for (uint32_t i = 0; i < std::min<uint32_t>(peers, 3); ++i) sample.push_back(fleet.conn_for(i));
  auto peers_conf = charon::render_swanctl_conf(sample, {sut.secret});
  if (peers_conf)
    write_file(dir + "/peers-sample.swanctl.conf",
               "# the first " + std::to_string(sample.size()) + " of " + std::to_string(peers) +
                   " peer connections; the others differ only in index, addresses and id\n" + *peers_conf,
               run.rep.notes, 0600);
}

Status CharonFleetEngine::start(EventLoop& loop, const SutPlan& sut, PointRun& run, StartedParts& parts) const {
  fleet::CharonFleetOptions fo = fleet_options(run, sut, parts);
  auto fleet = fleet::CharonFleet::start(loop, fo);
  if (!fleet) return std::move(fleet).error();
  run.out.peer_logs = (*fleet)->daemon_logs();
  run.rep.notes.push_back("loaded " + std::to_string(run.peers) + " peer connections in " +
                          std::to_string((*fleet)->load_seconds()) + " s");
  write_configs(run, sut, **fleet);
  parts.charon = fleet->get();
  parts.engine = std::move(*fleet);
  return ok();
}

}  // namespace

const EngineKind& charon_fleet_engine() {
  static const CharonFleetEngine kind;
  return kind;
}

}  // namespace ist::run
