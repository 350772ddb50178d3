#pragma once
// The steps run_point() composes, each in a file of its own under harness/run/:
//   step_topology.cpp   the network (namespaces, link, the peers' addresses)
//   step_observe.cpp    the kernel XFRM observer, its samples in the timeseries, the kernel
//                       events joined with peers, the classifier's inputs
//   sut_plan.cpp        what the SUT charon runs: settings, responder, auth, user gateway
//   step_sut.cpp        the SUT kind, chosen in one place (sut_part_for); one file per kind:
//                       sut_kind_netns.cpp (charon in the SUT namespace), sut_kind_vm.cpp,
//                       sut_kind_target.cpp (an external gateway: target:)
//   step_engine.cpp     the peer engine, chosen in one place (engine_kind_for); one file per
//                       engine: engine_charon.cpp (charon fleet), engine_native.cpp
//   step_traffic.cpp    the native engine's data plane and summary.data
//   step_start.cpp      --start-at: everything is up; the phases wait for the shared instant
//   step_phases.cpp     the orchestrated phases (harness/run/orchestrator)
//   step_report.cpp     the report's summary and per-peer timelines
// point_run.cpp: what the steps share; the started parts, stopped in order on every return.
#include <sys/types.h>

#include <istream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "charon/auth_material.hpp"
#include "charon/conn_spec.hpp"
#include "charon/gateway_config.hpp"
#include "charon/instance.hpp"
#include "common/event_loop.hpp"
#include "dataplane/data_plane_session.hpp"
#include "fleet/charon_fleet.hpp"
#include "fleet/native/impair_layers.hpp"
#include "fleet/native/native_fleet.hpp"
#include "fleet/peer_engine.hpp"
#include "netns/topology.hpp"
#include "run/orchestrator.hpp"
#include "run/run_point.hpp"
#include "run/sut.hpp"
#include "scenario/effective.hpp"
#include "xfrm/run_observer.hpp"

namespace ist::run {

// What every step of one point reads (the scenario, the context) and fills (the outcome).
struct PointRun {
  PointRun(const scenario::SweepPoint& point, const PointContext& ctx);
  PointRun(const PointRun&) = delete;
  PointRun& operator=(const PointRun&) = delete;

  const scenario::SweepPoint& point;
  const scenario::Scenario& s;
  const PointContext& ctx;
  const scenario::Effective eff;
  const std::string dir;  // ctx.out_dir/ctx.point_dir
  const uint32_t peers;
  PointOutcome out;
  reports::RunReport& rep = out.report;

  // The harness could not act: a harness-fault outcome saying why.
  PointOutcome fail(std::string why);
  PointOutcome fail(const Error& e) { return fail(e.describe()); }
};

// The point's folder, scenario.json and the report's first fields (parameters, effective,
// the notes on lifetimes that whole-second rounding moved).
void begin_point(PointRun& run);

// What the SUT charon runs, the same for every SUT kind (sut_plan.cpp).
struct SutPlan {
  charon::InstanceOptions instance;
  charon::ResponderOptions responder_options;
  charon::ConnSpec responder;
  charon::SharedSecret secret;
  std::string peer_psk;
  charon::AuthKind auth = charon::AuthKind::psk;
  std::optional<charon::GatewayAdaptation> gateway;  // sut.config: the user's own gateway
  std::optional<charon::AuthMaterial> material;      // certificates or EAP secrets
  std::vector<charon::ViciRequest> setup;            // vici requests, in order
  std::string peer_id_pattern;  // the peers' identities, "{i}" = index; empty: the harness's own
  // What the peers propose; empty: peers.ike / peers.child proposals (a target's sut.config).
  std::vector<std::string> peer_ike_proposals, peer_esp_proposals;
  // never: the peers share one identity and send no INITIAL_CONTACT (a target's sut.config).
  charon::UniquePolicy peer_unique = charon::UniquePolicy::no;
};

struct StartedParts;

// One kind of SUT (charon in the SUT namespace, charon in a vm guest): what a point asks of
// it beyond the orchestrator's Sut seam. Chosen once, by sut_part_for().
class SutPart {
 public:
  virtual ~SutPart() = default;
  // The charon backend the SUT's daemon is configured with, from PointContext::backend.
  virtual std::string charon_backend(const std::string& backend) const { return backend; }
  // Notes on what of the scenario this kind does not apply, said before it starts.
  virtual void note_limits(const scenario::Scenario&, std::vector<std::string>&) const {}
  // What the kind changes in the plan once plan_sut() made it (target: the peers' credentials
  // for the gateway instead of the harness's own).
  virtual Status adjust_plan(PointRun&, SutPlan&) { return ok(); }
  virtual Status start(EventLoop& loop, const SutPlan& plan, PointRun& run, StartedParts& parts) = 0;
  virtual Sut* sut() = 0;  // null until started
  // Puts the data plane's echo sink at the SUT's protected subnet and says how its counts and
  // the SUT's UDP receive-buffer drops are read.
  virtual Status place_data_sink(fleet::DataPlaneSessionOptions& o, const netns::Topology& topo) = 0;
  // What the kind adds to the outcome once the phases are over (vm: the guest kernel's SAs).
  virtual void after_phases(const std::vector<reports::TimeseriesPoint>&, PointOutcome&) {}
};

// The scenario's target, else PointContext::backend -> the SUT kind (step_sut.cpp): the one
// place a kind is chosen.
std::unique_ptr<SutPart> sut_part_for(const scenario::Scenario& s, const std::string& backend);
std::unique_ptr<SutPart> netns_charon_sut_part();  // sut_kind_netns.cpp
std::unique_ptr<SutPart> vm_sut_part();            // sut_kind_vm.cpp
std::unique_ptr<SutPart> target_sut_part();        // sut_kind_target.cpp

// Vici sockets in a short folder of the run's own when the report folder's path is too long
// for a unix socket; journaled, removed when the point ends.
struct SocketDir {
  RunState* state = nullptr;
  std::string path;  // "" = none
  SocketDir() = default;
  SocketDir(const SocketDir&) = delete;
  SocketDir& operator=(const SocketDir&) = delete;
  ~SocketDir();
};

// What a point has started. stop() (or the destructor, on an early return) stops them in
// order: the peer engine, the SUT, the kernel observer, the topology. Members are declared in
// the order they start, so they are also destroyed in reverse.
struct StartedParts {
  std::optional<netns::Topology> topo;
  xfrm::RunObserver kernel;
  SocketDir socket_dir;
  std::unique_ptr<SutPart> sut;
  std::unique_ptr<fleet::PeerEngine> engine;
  fleet::NativeFleet* native = nullptr;                 // the engine, when it is the native one
  fleet::CharonFleet* charon = nullptr;                 // the engine, when it is the charon fleet
  std::unique_ptr<fleet::DataPlaneSession> traffic;     // scenario traffic (native engine)
  std::unique_ptr<fleet::DataSink> trap_sink;           // peers.trap_traffic's counter (charon engine)
  std::shared_ptr<native::ImpairLayers> impair_layers;  // peers.impair / peers.flood (native)

  StartedParts() = default;
  StartedParts(const StartedParts&) = delete;
  StartedParts& operator=(const StartedParts&) = delete;
  ~StartedParts() { stop(nullptr); }
  // Each part is stopped once; what fails goes to `notes` (null: said nowhere).
  void stop(std::vector<std::string>* notes);

 private:
  bool stopped_ = false;
};

// One peer engine (the charon fleet, the native engine). Chosen once, by engine_kind_for().
class EngineKind {
 public:
  virtual ~EngineKind() = default;
  // Whether the topology gives every peer a kernel address (or the engine a routed prefix).
  virtual Result<bool> peer_addresses() const { return true; }
  // Starts the peers into parts.engine; writes the configs people read into the run folder.
  virtual Status start(EventLoop& loop, const SutPlan& sut, PointRun& run, StartedParts& parts) const = 0;
};

// peers.engine -> the engine (step_engine.cpp): the one place an engine is chosen.
const EngineKind& engine_kind_for(scenario::Engine engine);
const EngineKind& charon_fleet_engine();  // engine_charon.cpp
const EngineKind& native_engine();        // engine_native.cpp
// What every engine needs about the peers (step_engine.cpp).
fleet::PeerPlan peer_plan(const PointRun& run, const SutPlan& sut, const netns::Topology& topo);

// The steps, in the order run_point() calls them.
Status build_topology(PointRun& run, const EngineKind& engine, StartedParts& parts);
void observe_kernel(EventLoop& loop, PointRun& run, StartedParts& parts);
Status plan_sut(PointRun& run, StartedParts& parts, SutPlan& plan);
Status open_traffic(EventLoop& loop, PointRun& run, StartedParts& parts);
// Waits for PointContext::start_at (if set) and records the skew; false when Ctrl-C came
// first (the outcome is then interrupted).
bool wait_for_start(PointRun& run);
// The phases' plan, with the kernel sampled at every tick and the traffic run in the holds.
OrchestratorPlan phases_plan(EventLoop& loop, PointRun& run, StartedParts& parts);
// What the data plane (summary.data), the floods (summary.dos_resilience) and the engine saw,
// once the phases are over.
void note_after_phases(PointRun& run, StartedParts& parts, const Orchestrator& orch, const OrchestratorResult& r);
void fill_summary(PointRun& run, OrchestratorResult& r, const fleet::PeerTracker& tr);
// The kernel's events in the peers' timelines, then the point classified (rep.codes, ...).
void classify(PointRun& run, StartedParts& parts, const Orchestrator& orch, OrchestratorResult& r);
void fill_peer_timelines(PointRun& run, const netns::Topology& topo, const fleet::PeerTracker& tr,
                         OrchestratorResult& r);

// Shared by the steps.
// The report's name of the point's peer i: "p" + its global index (peers.first_index + i), so
// a peer has one name whichever of several generators drives it. The engines' own connection
// names stay local ("p" + i).
std::string peer_label(const PointRun& run, uint32_t i);
// Writes a file of the run folder (atomically, created with `mode`); a failure is a warning
// and a note. swanctl.conf files hold the PSK: 0600.
void write_file(const std::string& path, const std::string& text, std::vector<std::string>& notes,
                mode_t mode = 0644);
std::map<std::string, std::string> user_keys(const std::vector<scenario::CharonSetting>& v);
charon::IkeLifetimes ike_lifetimes(const scenario::EffectiveSa& e);
charon::ChildLifetimes child_lifetimes(const scenario::EffectiveSa& e);
// summary.data, time_to_first_packet_ms and data_tunnels, then the traffic closed
// (step_traffic.cpp). t0: the run's start. summary.trap_traffic and trap_traffic_peers from
// the charon fleet's and the sink's counts; connect_end_s: the connect phase's end.
void finish_traffic(PointRun& run, StartedParts& parts, const std::vector<reports::TimeseriesPoint>& series,
                    MonoTime t0, double connect_end_s);
// Udp RcvbufErrors from /proc/net/snmp's text (step_traffic.cpp).
Result<uint64_t> udp_rcvbuf_errors(std::istream& snmp);
// A kernel's samples of one second into the report's timeseries point (step_observe.cpp).
void put_kernel_samples(std::vector<xfrm::KernelSample> samples, reports::TimeseriesPoint& pt);

}  // namespace ist::run
