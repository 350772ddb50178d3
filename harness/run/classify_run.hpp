#pragma once
// Classification of one run point: what the initiators saw (the tracker's failures, setup
// deadlines), what the SUT's log says (LogJoiner), joined where a single source cannot tell
// peers apart, then the taxonomy's rules -> the report's codes, failures and informational.
//
// The join that needs both sides: at the default log level charon's "ignoring IKE_SA_INIT,
// hitting IKE_SA limit" names no peer. A peer whose attempt ended without an answer, and
// whose address never appears in the SUT's "<addr> is initiating an IKE_SA" lines while the
// SUT was hitting its limit, was refused by that limit: it gets a responder-side record with
// its own name and address, so MM_LIMIT counts peers, not log lines.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "fleet/peer_tracker.hpp"
#include "reports/report.hpp"
#include "taxonomy/failure.hpp"
#include "taxonomy/observed_event.hpp"

namespace ist::run {

struct ClassifyInput {
  const fleet::PeerTracker* tracker = nullptr;
  std::vector<std::string> peer_names;      // index -> "p17"
  std::vector<std::string> peer_addresses;  // index -> IKE address
  MonoTime run_start{};                     // the orchestrator's t0 (steady clock)
  std::chrono::system_clock::time_point run_start_wall{};  // the same moment, wall clock
  std::chrono::milliseconds deadline_ike{10000}, deadline_child{5000};
  std::string sut_log;                      // path of the SUT's filelog ("" = none)
  double teardown_start_s = -1;             // deletes after this are the harness's own
  // An external gateway serves others too (other generators of one run, real clients): its
  // lines about addresses that are not this run's peers are left out, and so are limit drops
  // that no peer of this run can be joined with.
  bool sut_shared = false;
  // Kernel XFRM notifications that name a peer (harness/xfrm RunObserver joined by address):
  // ACQUIRE, EXPIRE, SA deletes, from the SUT's or the peers' namespace.
  struct KernelEvent {
    uint32_t peer = 0;  // index
    int64_t t_ms = 0;   // since run start
    std::string ns;     // namespace role: sut | peers
    std::string kind;   // acquire | expire | delete_sa
    std::string detail;
  };
  std::vector<KernelEvent> kernel_events;
};

struct ClassifyOutput {
  std::vector<taxonomy::ObservedEvent> events;  // what was fed to the rules
  taxonomy::Classification result;
  std::vector<std::string> notes;
};

// Initiator-side observations (one per failed attempt or rekey, one per missed deadline),
// sorted by whose word an ending rests on (fleet::FailureKind): rule input, ends no text
// rule knows (unclassified, with their evidence), and the harness's own faults.
struct InitiatorObservations {
  std::vector<taxonomy::ObservedEvent> events;
  std::vector<taxonomy::ObservedEvent> unclassified;
  std::vector<taxonomy::ObservedEvent> harness;
};
InitiatorObservations initiator_observations(const ClassifyInput& in);
// From kernel events: a peer whose kernel asked for an SA (ACQUIRE) and whose IKE_SA was not
// up within deadline_ike of it had its CHILD_SA request dropped without an IKE_SA
// (child_dropped_no_ike, QUEUE_DROP_NO_MM); side = the namespace that acquired.
std::vector<taxonomy::ObservedEvent> kernel_observations(const ClassifyInput& in);
// From the timeseries' kernel counters (xfrm_stat deltas of each observed namespace): one
// event per second and counter that a rule maps (XfrmInNoStates -> BAD_SPI, XfrmOutNoStates
// -> QUEUE_OVERFLOW, ...), its count the delta; no peer (the counters name none).
std::vector<taxonomy::ObservedEvent> xfrm_counter_observations(const std::vector<reports::TimeseriesPoint>& ts);
// From peers.trap_traffic's counts (rep.trap_traffic, rep.trap_traffic_peers): when every
// datagram lost is one the peers' kernel counted in XfrmOutNoStates, one xfrm_out_no_states
// event per peer that lost any (count = its losses, its ACQUIREs as evidence), which replace
// the peers namespace's anonymous counter events. Fills trap_traffic_peers[].acquires.
std::vector<taxonomy::ObservedEvent> trap_traffic_observations(const ClassifyInput& in, reports::RunReport& rep);
// Classifies the point and fills rep.codes, rep.informational, rep.failures, rep.unclassified,
// rep.harness_faults and summary.unclassified{,_attempts} / harness_faults.
ClassifyOutput classify_point(const ClassifyInput& in, reports::RunReport& rep);

// Maps an engine's text for an attempt or rekey that ended with the responder's answer to an
// observation; nothing when no rule knows the text (it stays unclassified).
std::optional<taxonomy::Observation> observation_of_failure_text(std::string_view detail);

}  // namespace ist::run
