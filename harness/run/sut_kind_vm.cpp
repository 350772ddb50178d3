// The SUT as a charon with kernel-netlink in a qemu guest (backend vm, VmSut), like xfrm on
// the host.
#include <sstream>

#include "run/point_steps.hpp"
#include "run/vm_sut.hpp"

namespace ist::run {

namespace {

class VmCharonSut final : public SutPart {
 public:
  std::string charon_backend(const std::string&) const override { return "xfrm"; }
  void note_limits(const scenario::Scenario& s, std::vector<std::string>& notes) const override {
    if (s.link.loss > 0)
      notes.push_back("backend vm: link.loss is not applied (the SUT's end of the link is a bridge port, which "
                      "the loss rules' inet hooks do not see); link.rate is");
  }

  Status start(EventLoop& loop, const SutPlan& plan, PointRun& run, StartedParts& parts) override {
    reports::RunReport& rep = run.rep;
    VmSutOptions vo;
    vo.topology = &*parts.topo;
    vo.run_state = run.ctx.state;
    vo.work_dir = run.dir + "/sut";
    vo.settings = plan.instance.settings;
    vo.esp_proposals = plan.responder_options.esp_proposals;
    IST_TRY_ASSIGN(sut_, VmSut::start(loop, vo, plan.setup));  // a failed start has stopped its guest
    VmSut* vm_sut = sut_.get();
    run.out.sut_log = vm_sut->log_path();
    run.out.sut_version = vm_sut->daemon_version();
    run.out.sut_kernel = "Linux " + vm_sut->guest_kernel();  // as host.kernel: sysname release
    rep.notes.push_back("backend vm: SUT charon (kernel-netlink) in a guest running " + vm_sut->guest_kernel() +
                        " (" + vm_sut->accel() + "), booted in " + std::to_string(vm_sut->boot_seconds()) +
                        " s, ESP algorithms loaded in " + std::to_string(vm_sut->warmup_seconds()) + " s");
    // The guest kernel holds the SUT's SAs: observe it (timeseries xfrm.sut, kernel events)
    // instead of the host's SUT namespace.
    auto lines = vm_sut->watch_guest_xfrm();
    Status watched = lines ? parts.kernel.add_lines(loop, "sut", std::move(*lines)) : Status(std::move(lines).error());
    if (!watched) rep.notes.push_back("backend vm: observing the guest kernel's XFRM: " + watched.error().describe());
    return ok();
  }
  Sut* sut() override { return sut_.get(); }

  // The protected subnet lives on the guest's lo: the sink runs there (`ikestorm
  // udp-echo`) and its counts are read back through the guest agent.
  Status place_data_sink(fleet::DataPlaneSessionOptions& o, const netns::Topology& topo) override {
    VmSut* vm_sut = sut_.get();
    IST_TRY(vm_sut->start_data_sink(topo.sut_subnet_address().str(), o.plane.sink_port));
    o.read_remote_sink = [vm_sut]() -> Result<fleet::SinkTally> {
      IST_TRY_ASSIGN(std::string json, vm_sut->read_data_sink_counts());
      return fleet::parse_sink_tally(json);
    };
    o.sut_rcvbuf_errors = [vm_sut]() -> Result<uint64_t> {
      IST_TRY_ASSIGN(std::string text, vm_sut->read_guest_file("/proc/net/snmp"));
      std::istringstream in(text);
      return udp_rcvbuf_errors(in);
    };
    return ok();
  }

  void after_phases(const std::vector<reports::TimeseriesPoint>&, PointOutcome& out) override {
    // The guest kernel's ESP states when the SUT counted its IKE_SAs (end of connect); with
    // the guest watcher's samples it is the evidence for real_xfrm (fill_summary).
    out.report.summary.xfrm_states = sut_->esp_states_at_count().value_or(0);
  }

 private:
  std::unique_ptr<VmSut> sut_;
};

}  // namespace

std::unique_ptr<SutPart> vm_sut_part() { return std::make_unique<VmCharonSut>(); }

}  // namespace ist::run
