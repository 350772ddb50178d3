// The SUT as an external gateway (target:): the harness starts nothing. The peers take the
// credentials the gateway expects (peers.psk_file, id, remote_id, remote_ts) instead of the
// harness's own; the gateway's own view (IKE_SA count, stats, log events) comes from its
// vici over TCP when target.vici is set, else the report holds the initiator side alone.
#include <cstdio>
#include <filesystem>

#include "charon/secret_text.hpp"
#include "common/signals.hpp"
#include "run/gateway_vici.hpp"
#include "run/point_steps.hpp"
#include "run/target_probe.hpp"

namespace ist::run {

namespace {

class TargetSut final : public Sut {
 public:
  TargetSut(std::string address, std::unique_ptr<GatewayVici> vici)
      : address_(std::move(address)), vici_(std::move(vici)) {}

  void count_established(std::function<void(Result<uint64_t>)> done) override {
    if (vici_) return vici_->count_established(std::move(done));
    done(Error(unavailable()));
  }
  void sample_stats(std::function<void(Result<reports::SutSample>)> done) override {
    if (vici_) return vici_->sample_stats(std::move(done));
    done(Error(unavailable()));
  }
  // With vici: the gateway still answers it. Without: its health is what the peers see, its
  // IKE answers (the orchestrator's unresponsive spans), never a death the harness could
  // not witness.
  bool healthy(std::string* why) override {
    if (!vici_) return true;
    std::string closed;
    if (vici_->alive(&closed)) return true;
    if (why) *why = "the gateway's vici (" + vici_->uri() + ") is gone: " + closed;
    return false;
  }
  ProcessUsage usage() override { return {}; }  // the gateway's CPU is not ours to read
  Status stop() override {
    vici_.reset();
    return ok();
  }

 private:
  std::string unavailable() const {
    return "the gateway's own counts are unavailable (target.vici is not set; " + address_ +
           " is seen from the initiator side only)";
  }
  std::string address_;
  std::unique_ptr<GatewayVici> vici_;
};

// How long a target's vici may take to answer the connect (the gateway is remote).
constexpr std::chrono::milliseconds kViciConnectTimeout{5000};
// How long the vendor probe waits for the gateway's IKE_SA_INIT answer.
constexpr std::chrono::milliseconds kVendorProbeWait{2000};

// sut.config with target: what the peers take of the gateway's config (read by plan_sut,
// addresses as written); peers.* keys written in the scenario override it afterwards. The
// engines then build their peers as for any target (no per-peer gateway template).
void take_derived(PointRun& run, SutPlan& plan) {
  const charon::GatewayAdaptation& g = *plan.gateway;
  const charon::ConnSpec& t = g.peer_template;
  const scenario::Peers& p = run.s.peers;
  plan.secret.secret = plan.peer_psk;
  plan.peer_id_pattern = g.peer_id_pattern;
  plan.peer_unique = t.unique;
  plan.responder.local_id = g.sut_id;
  if (!t.remote_ts.empty()) plan.responder_options.local_ts = t.remote_ts;
  const bool native = p.engine == scenario::Engine::native;
  auto take = [&](const std::vector<std::string>& theirs, bool written, bool esp, std::vector<std::string>& out) {
    if (written || theirs.empty()) return;
    out = native ? std::vector<std::string>{charon::single_proposal(theirs, esp)} : theirs;
    if (native && (theirs.size() > 1 || out.front() != theirs.front()))
      run.rep.notes.push_back(std::string("sut.config: the native engine proposes ") + (esp ? "ESP " : "IKE ") +
                              out.front() + " of the gateway's " + (esp ? "esp_" : "") + "proposals (one proposal" +
                              (esp ? ", no PFS: the first CHILD_SA has no key exchange" : "") + ")");
  };
  take(t.ike_proposals, p.ike.proposals_written, false, plan.peer_ike_proposals);
  take(t.esp_proposals, p.child.proposals_written, true, plan.peer_esp_proposals);
  plan.gateway.reset();
}

// Certificate peers (peers.auth rsa/ecdsa, or sut.config's pubkey): one certificate each,
// issued from the user's CA (peers.ca_cert / ca_key) for its identity; the peers trust that CA
// for the gateway's certificate too.
Status make_peer_certificates(PointRun& run, SutPlan& plan) {
  const scenario::Scenario& s = run.s;
  const scenario::PeerCredentials& c = s.peers.credentials;
  if (!c.ca_cert || !c.ca_key) return Error("peers.ca_cert and peers.ca_key are needed for certificate peers");
  charon::AuthMaterialOptions o{plan.auth == charon::AuthKind::rsa ? charon::AuthKind::rsa : charon::AuthKind::ecdsa,
                                run.peers, run.dir + "/auth"};
  o.sut_id = plan.responder.local_id;
  const auto first = static_cast<uint32_t>(s.peers.first_index);
  o.peer_id = [pattern = plan.peer_id_pattern, first](uint32_t i) {
    return pattern.empty() ? charon::peer_identity(first + i) : charon::peer_id_from_pattern(pattern, first + i);
  };
  o.ca_cert_file = c.ca_cert->string();
  o.ca_key_file = c.ca_key->string();
  auto m = charon::make_auth_material(o);
  if (!m) return Error("peer certificates from peers.ca_cert: " + m.error().describe());
  plan.auth = o.kind;
  plan.material = std::move(*m);
  run.rep.notes.push_back("auth " + std::string(charon::to_string(o.kind)) + ": " + std::to_string(run.peers) +
                          " peer certificates issued from peers.ca_cert in " +
                          std::to_string(plan.material->generate_seconds) + " s");
  return ok();
}

class ExternalTarget final : public SutPart {
 public:
  Status adjust_plan(PointRun& run, SutPlan& plan) override {
    const scenario::Scenario& s = run.s;
    const scenario::PeerCredentials& c = s.peers.credentials;
    // The gateway's identity: unset, the peers accept whatever it proves (no IDr sent).
    plan.responder.local_id = "";
    // The gateway's side of the tunnels: unset, its own address (host-to-host).
    plan.responder_options.local_ts = {charon::host_ts(s.target->address)};
    if (plan.gateway) take_derived(run, plan);
    if (c.psk_file) {
      auto psk = charon::read_secret_file(c.psk_file->string());
      if (!psk) return Error("peers.psk_file: " + psk.error().describe());
      plan.peer_psk = *psk;
      plan.secret.secret = std::move(*psk);
    }
    if (c.id) {
      plan.peer_id_pattern = *c.id;
      plan.peer_unique = charon::UniquePolicy::no;
    }
    if (c.remote_id) plan.responder.local_id = *c.remote_id;
    if (!c.remote_ts.empty()) plan.responder_options.local_ts = c.remote_ts;
    plan.responder_options.local_addr = s.target->address;
    if (plan.auth != charon::AuthKind::psk) return make_peer_certificates(run, plan);
    return ok();
  }

  Status start(EventLoop& loop, const SutPlan&, PointRun& run, StartedParts& parts) override {
    const scenario::Target& t = *run.s.target;
    local_ = t.local;
    std::unique_ptr<GatewayVici> vici;
    if (t.vici_host) {
      // The gateway's log events, as the SUT's filelog the classifier reads (responder codes).
      const std::string log = run.dir + "/sut/gateway.log";
      std::error_code ec;
      std::filesystem::create_directories(run.dir + "/sut", ec);
      auto v = GatewayVici::connect(loop, *t.vici_host, t.vici_port, log, kViciConnectTimeout);
      if (!v) return Error("target.vici: " + v.error().describe());
      vici = std::move(*v);
      run.out.sut_log = log;
      // real_xfrm's evidence, asked once before the phases: the plugins the gateway loaded.
      auto stats = vici->stats_now(kViciConnectTimeout);
      xfrm_ = stats ? gateway_xfrm_evidence(stats->plugins)
                    : GatewayXfrmEvidence{false, "whether the gateway's kernel holds the SAs is unknown: " +
                                                     stats.error().describe()};
    } else {
      run.rep.notes.push_back("target " + t.address + ": the gateway's own counts are unavailable (no target.vici); "
                              "the report holds the initiator side alone");
    }
    run.out.target = reports::TargetInfo{t.address, std::nullopt, vici != nullptr};
    sut_ = std::make_unique<TargetSut>(t.address, std::move(vici));
    peers_ns_ = &parts.topo->peers_ns();
    return ok();
  }
  Sut* sut() override { return sut_.get(); }

  // report.target.vendor: the phases are over, so the one half-open IKE_SA this leaves on the
  // gateway (until its half-open timeout) counts in none of the run's measurements.
  void after_phases(const std::vector<reports::TimeseriesPoint>&, PointOutcome& out) override {
    // Evidence only (fill_summary also wants established CHILD_SAs); the note says what it was.
    out.real_xfrm = xfrm_.kernel_xfrm;
    out.report.notes.push_back("real_xfrm " + std::string(xfrm_.kernel_xfrm ? "true" : "false") + ": " + xfrm_.basis);
    if (!out.target || peers_ns_ == nullptr || out.interrupted || signals::stop_requested()) return;
    const auto local = netns::IpPrefix::parse(local_);
    const auto target = netns::IpAddress::parse(out.target->address);
    if (!local || !target) return;
    auto r = probe_once(*peers_ns_, local->address, *target, kVendorProbeWait);
    auto& notes = out.report.notes;
    if (!r) {
      notes.push_back("target: the vendor probe failed: " + r.error().describe());
    } else if (!r->rtt_ms) {
      notes.push_back("target: one IKE_SA_INIT from target.local " + r->from + " after the phases got no answer "
                      "within " + std::to_string(kVendorProbeWait.count() / 1000) + " s: vendor unknown");
    } else {
      std::string names;
      for (const auto& v : r->vendor_ids) names += (names.empty() ? "" : ", ") + v;
      if (!names.empty()) out.target->vendor = names;
      char rtt[32];
      std::snprintf(rtt, sizeof rtt, "%.1f", *r->rtt_ms);
      notes.push_back("target: one IKE_SA_INIT from target.local " + r->from + " after the phases: " +
                      to_string(r->answer) + " in " + rtt + " ms; vendor IDs: " +
                      (names.empty() ? std::string("none") : names));
    }
  }

  Status place_data_sink(fleet::DataPlaneSessionOptions&, const netns::Topology&) override {
    return Error("traffic: not with target: (the data plane needs a SUT the harness runs)");
  }

 private:
  std::unique_ptr<TargetSut> sut_;
  const netns::Namespace* peers_ns_ = nullptr;  // the topology's, which outlives this part
  std::string local_;                           // target.local
  GatewayXfrmEvidence xfrm_{false, "no target.vici to ask the gateway: whether its kernel holds the SAs is unknown"};
};

}  // namespace

std::unique_ptr<SutPart> target_sut_part() { return std::make_unique<ExternalTarget>(); }

}  // namespace ist::run
