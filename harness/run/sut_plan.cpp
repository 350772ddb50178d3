#include <filesystem>

#include "charon/settings.hpp"
#include "run/point_steps.hpp"

namespace fs = std::filesystem;

namespace ist::run {

namespace {

// The SUT daemon's charon backend, and what it means for the run's notes.
Result<charon::Backend> sut_backend(PointRun& run, const SutPart& kind) {
  const scenario::Scenario& s = run.s;
  auto backend = charon::parse_backend(kind.charon_backend(run.ctx.backend));
  if (!backend) return std::move(backend).error();
  kind.note_limits(s, run.rep.notes);
  if (*backend == charon::Backend::libipsec && !s.target)  // a target's ESP is its own
    run.rep.notes.push_back(
        "backend libipsec: ESP is UDP-encapsulated on port 4500 (kernel-libipsec can only receive "
        "ESP in UDP and fakes NAT detection to force it), so the SUT logs every peer as behind NAT; "
        "this says nothing about the network (harness/charon/NAT.md)");
  return backend;
}

// Unix socket paths are limited to 107 bytes: a deep --out folder gets its sockets in a
// private folder (0700, made exclusively) in the run's state folder, journaled for `clean`.
Status make_socket_dir(PointRun& run, StartedParts& parts) {
  const PointContext& ctx = run.ctx;
  std::string socket_dir;
  if (run.dir.size() + std::string("/peers-255/charon.vici").size() > charon::kMaxUnixSocketPath) {
    auto made = ctx.state->create_private_dir("sockets-" + ctx.point_dir);
    if (!made) return std::move(made).error().wrap("vici sockets");
    socket_dir = *made;
    run.rep.notes.push_back("vici sockets in " + socket_dir +
                            " (the report folder's path is too long for a unix socket)");
  }
  parts.socket_dir.state = ctx.state;
  parts.socket_dir.path = socket_dir;
  return ok();
}

// The SUT's daemon and its responder connection (every peer, one PSK).
void plan_daemon(PointRun& run, const netns::Topology& topo, charon::Backend backend, const std::string& socket_dir,
                 SutPlan& plan) {
  const scenario::Scenario& s = run.s;
  charon::InstanceOptions& sio = plan.instance;
  sio.name = "sut";
  sio.netns = topo.sut_ns().name();
  sio.work_dir = run.dir + "/sut";
  sio.run_state = run.ctx.state;
  sio.settings.role = charon::Role::sut;
  sio.settings.backend = backend;
  sio.settings.filelog = charon::default_filelog(charon::Role::sut, "");
  sio.settings.user_keys = user_keys(s.sut.charon);
  if (!socket_dir.empty()) sio.settings.vici_socket = socket_dir + "/sut.vici";

  charon::ResponderOptions& ro = plan.responder_options;
  ro.local_addr = topo.sut_ike_address().str();
  ro.local_ts = {topo.sut_subnet().str()};
  // The peers of the run's family (peers.family): their IKE range and their inner range.
  ro.peer_range = topo.peer_ike_range().str();
  ro.remote_ts = {topo.peer_inner_range().str()};
  ro.ike_proposals = s.sut.ike.proposals.empty() ? s.peers.ike.proposals : s.sut.ike.proposals;
  ro.esp_proposals = s.sut.child.proposals.empty() ? s.peers.child.proposals : s.sut.child.proposals;
  ro.ike = ike_lifetimes(run.eff.sut_ike);
  ro.child = child_lifetimes(run.eff.sut_child);
  ro.encap = s.peers.encap;
  plan.responder = charon::sut_responder_conn(ro);
  plan.secret = charon::SharedSecret{"peers", run.ctx.psk, {}};
  plan.peer_psk = run.ctx.psk;
}

// Authentication: certificates from a throwaway CA, or EAP secrets, made for this point; or
// the user's own gateway as the SUT: their settings and connections, our addresses.
Status plan_auth(PointRun& run, const netns::Topology& topo, SutPlan& plan) {
  const scenario::Scenario& s = run.s;
  auto auth_kind = charon::parse_auth_kind(scenario::to_string(s.peers.auth));
  if (!auth_kind) return std::move(auth_kind).error();
  charon::AuthKind& kind = plan.auth;
  kind = *auth_kind;
  auto& gateway = plan.gateway;
  if (s.sut.config.swanctl_conf) {
    charon::GatewayFiles files;
    files.swanctl_conf = s.sut.config.swanctl_conf->string();
    if (s.sut.config.strongswan_conf) files.strongswan_conf = s.sut.config.strongswan_conf->string();
    charon::GatewayPlan gplan;
    gplan.sut_address = plan.responder_options.local_addr;
    gplan.sut_subnet = topo.sut_subnet().str();
    gplan.peers = run.peers;
    gplan.peer_vips = run.s.peers.vips;
    if (s.target)  // read, not started: the target's addresses stand
      gplan = charon::target_gateway_plan(s.target->address, s.target->peers, s.target->inner.value_or(""), run.peers,
                                          s.peers.vips);
    auto a = charon::adapt_gateway(files, gplan);
    if (!a) return Error("sut.config: " + a.error().describe());
    gateway = std::move(*a);
    kind = gateway->auth;
    plan.peer_psk = gateway->peer_secret.secret;
    for (const auto& c : gateway->changes) run.rep.notes.push_back("sut.config: " + c);
  }  // strongswan_conf alone: refused by the scenario validator (exit 2)

  // A target's peers get their certificates once their identities are known (adjust_plan).
  if (kind != charon::AuthKind::psk && !s.target) {
    auto mo = gateway ? charon::gateway_material_options(*gateway, run.peers, run.dir + "/auth")
                      : charon::AuthMaterialOptions{kind, run.peers, run.dir + "/auth"};
    auto m = charon::make_auth_material(mo);
    if (!m) return Error("making certificates: " + m.error().describe());
    plan.material = std::move(*m);
    const charon::AuthMaterial& material = *plan.material;
    run.rep.notes.push_back(std::string("auth ") + std::string(charon::to_string(kind)) + ": material for " +
                            std::to_string(run.peers) + " peers made in " +
                            std::to_string(material.generate_seconds) + " s" +
                            (material.shared_peer_key() ? "; the peers share one RSA key" : ""));
    for (const auto& p : charon::auth_extra_plugins(kind)) plan.instance.settings.extra_plugins.push_back(p);
  }
  return ok();
}

// The vici requests that set the SUT up, in order: credentials, secrets, connections.
Status plan_setup(SutPlan& plan) {
  auto& gateway = plan.gateway;
  auto& material = plan.material;
  auto& sio = plan.instance;
  std::vector<charon::ViciRequest>& setup = plan.setup;
  if (gateway && gateway->sut_requests.empty()) {
    // A target's config: read for the peers, loaded nowhere.
  } else if (gateway) {
    if (material) {
      if (auto st = charon::apply_gateway_auth(*gateway, *material); !st) return st;
    }
    for (auto& [k, v] : gateway->sut_user_keys) sio.settings.user_keys.try_emplace(k, v);
    for (const auto& p : gateway->sut_extra_plugins) sio.settings.extra_plugins.push_back(p);
    setup = gateway->sut_requests;
  } else {
    if (material) {
      if (auto st = charon::apply_sut_auth(plan.responder, *material); !st) return st;
      for (auto& req : charon::sut_credentials(*material)) setup.push_back(std::move(req));
    }
    auto shared = charon::to_load_shared(plan.secret);
    if (!shared) return std::move(shared).error();
    setup.push_back({"load-shared", std::move(*shared)});
    auto conn = charon::to_load_conn(plan.responder);
    if (!conn) return std::move(conn).error();
    setup.push_back({"load-conn", std::move(*conn)});
  }
  return ok();
}

}  // namespace

// 2a. What the SUT runs (its kind decides where: parts.sut).
Status plan_sut(PointRun& run, StartedParts& parts, SutPlan& plan) {
  IST_TRY_ASSIGN(charon::Backend backend, sut_backend(run, *parts.sut));
  IST_TRY(make_socket_dir(run, parts));
  plan_daemon(run, *parts.topo, backend, parts.socket_dir.path, plan);
  IST_TRY(plan_auth(run, *parts.topo, plan));
  IST_TRY(plan_setup(plan));
  return parts.sut->adjust_plan(run, plan);
}

}  // namespace ist::run
