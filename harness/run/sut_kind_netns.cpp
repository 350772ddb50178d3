// The SUT as a charon in the topology's SUT namespace (backends libipsec and xfrm).
#include <fstream>

#include "run/charon_sut.hpp"
#include "run/point_steps.hpp"

namespace ist::run {

namespace {

class NetnsCharonSut final : public SutPart {
 public:
  Status start(EventLoop& loop, const SutPlan& plan, PointRun& run, StartedParts&) override {
    IST_TRY_ASSIGN(auto c, CharonSut::start(loop, plan.instance, plan.setup));
    if (run.ctx.backend == "xfrm") c->count_esp_states_in(plan.instance.netns);
    run.out.sut_log = c->instance().log_path();
    run.out.sut_version = c->instance().daemon_version();
    sut_ = std::move(c);
    return ok();
  }
  Sut* sut() override { return sut_.get(); }

  // Backend xfrm: the SUT namespace's ESP states when the SUT counted its IKE_SAs (0 on
  // libipsec, whose SAs are not in the kernel).
  void after_phases(const std::vector<reports::TimeseriesPoint>&, PointOutcome& out) override {
    if (sut_) out.report.summary.xfrm_states = sut_->esp_states_at_count().value_or(0);
  }

  // The sink is a socket in the SUT namespace, where the protected subnet lives.
  Status place_data_sink(fleet::DataPlaneSessionOptions& o, const netns::Topology& topo) override {
    const netns::Namespace* sut_ns = &topo.sut_ns();
    o.open_sink_socket = [sut_ns] { return sut_ns->open_socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK); };
    o.sut_rcvbuf_errors = [sut_ns]() -> Result<uint64_t> {
      Result<uint64_t> n = Error("not read");
      IST_TRY(sut_ns->run_in([&]() -> Status {
        // thread-self: this thread is the one inside the namespace (/proc/self is the process's).
        std::ifstream f("/proc/thread-self/net/snmp");
        n = udp_rcvbuf_errors(f);
        return ok();
      }));
      return n;
    };
    return ok();
  }

 private:
  std::unique_ptr<CharonSut> sut_;
};

}  // namespace

std::unique_ptr<SutPart> netns_charon_sut_part() { return std::make_unique<NetnsCharonSut>(); }

}  // namespace ist::run
