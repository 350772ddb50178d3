// The SUT as an external gateway (target:): the harness starts nothing. The peers take the
// credentials the gateway expects (peers.psk_file, id, remote_id, remote_ts) instead of the
// harness's own; the gateway's own view (IKE_SA count, stats, log events) comes from its
// vici over TCP when target.vici is set, else the report holds the initiator side alone.
#include "charon/secret_text.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

namespace {

class TargetSut final : public Sut {
 public:
  explicit TargetSut(std::string address) : address_(std::move(address)) {}

  void count_established(std::function<void(Result<uint64_t>)> done) override { done(Error(unavailable())); }
  void sample_stats(std::function<void(Result<reports::SutSample>)> done) override { done(Error(unavailable())); }
  // Without vici the gateway's health is what the peers see: its IKE answers (the
  // orchestrator's unresponsive spans), never a death the harness could not witness.
  bool healthy(std::string*) override { return true; }
  ProcessUsage usage() override { return {}; }  // the gateway's CPU is not ours to read
  Status stop() override { return ok(); }

 private:
  std::string unavailable() const {
    return "the gateway's own counts are unavailable (target.vici is not set; " + address_ +
           " is seen from the initiator side only)";
  }
  std::string address_;
};

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
        c.remote_ts.empty() ? std::vector<std::string>{s.target->address + "/32"} : c.remote_ts;
    plan.responder_options.local_addr = s.target->address;
    return ok();
  }

  Status start(EventLoop&, const SutPlan&, PointRun& run, StartedParts&) override {
    const scenario::Target& t = *run.s.target;
    sut_ = std::make_unique<TargetSut>(t.address);
    run.out.target = reports::TargetInfo{t.address, std::nullopt, false};
    run.rep.notes.push_back("target " + t.address + ": the gateway's own counts are unavailable (no target.vici); "
                            "the report holds the initiator side alone");
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
