// The SUT as an external gateway (target:): the harness starts nothing. The peers take the
// credentials the gateway expects (peers.psk_file, id, remote_id, remote_ts) instead of the
// harness's own; the gateway's own view (IKE_SA count, stats, log events) comes from its
// vici over TCP when target.vici is set, else the report holds the initiator side alone.
#include <filesystem>

#include "charon/secret_text.hpp"
#include "run/gateway_vici.hpp"
#include "run/point_steps.hpp"

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

class ExternalTarget final : public SutPart {
 public:
  Status adjust_plan(PointRun& run, SutPlan& plan) override {
    const scenario::Scenario& s = run.s;
    const scenario::PeerCredentials& c = s.peers.credentials;
    if (c.psk_file) {
      auto psk = charon::read_secret_file(c.psk_file->string());
      if (!psk) return Error("peers.psk_file: " + psk.error().describe());
      plan.peer_psk = *psk;
      plan.secret.secret = std::move(*psk);
    }
    if (c.id) plan.peer_id_pattern = *c.id;
    // The gateway's identity: unset, the peers accept whatever it proves (no IDr sent).
    plan.responder.local_id = c.remote_id.value_or("");
    // The gateway's side of the tunnels: unset, its own address (host-to-host).
    plan.responder_options.local_ts =
        c.remote_ts.empty() ? std::vector<std::string>{charon::host_ts(s.target->address)} : c.remote_ts;
    plan.responder_options.local_addr = s.target->address;
    return ok();
  }

  Status start(EventLoop& loop, const SutPlan&, PointRun& run, StartedParts&) override {
    const scenario::Target& t = *run.s.target;
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
    } else {
      run.rep.notes.push_back("target " + t.address + ": the gateway's own counts are unavailable (no target.vici); "
                              "the report holds the initiator side alone");
    }
    run.out.target = reports::TargetInfo{t.address, std::nullopt, vici != nullptr};
    sut_ = std::make_unique<TargetSut>(t.address, std::move(vici));
    return ok();
  }
  Sut* sut() override { return sut_.get(); }

  Status place_data_sink(fleet::DataPlaneSessionOptions&, const netns::Topology&) override {
    return Error("traffic: not with target: (the data plane needs a SUT the harness runs)");
  }

 private:
  std::unique_ptr<TargetSut> sut_;
};

}  // namespace

std::unique_ptr<SutPart> target_sut_part() { return std::make_unique<ExternalTarget>(); }

}  // namespace ist::run
