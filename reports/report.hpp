#pragma once
// The report model: what one `ikestorm run` found. report.json (canonical) is written from
// this; HTML and JUnit are rendered from report.json alone. Field names follow the report
// contract in docs/design.md; every member here appears in the JSON under the same name.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"

namespace ist::reports {

inline constexpr int kSchemaVersion = 1;

struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, max = 0;
};

struct PerRole {
  double sut = 0, peers = 0, harness = 0;
};

struct Rekeys {
  uint64_t ike = 0, child = 0;
};

// Per wall second (the timeseries' 1 s buckets): the highest second and the mean over the run.
struct RekeyRates {
  double ike_peak = 0, ike_mean = 0, child_peak = 0, child_mean = 0;
};

// The most SAs at once, in the harness's view (the timeseries' active and pending counts).
struct PeakSas {
  uint64_t ike_active = 0, ike_pending = 0, child_active = 0, child_pending = 0;
};

// The most the SUT reported at once in its vici stats (0 when it never answered).
struct SutPeaks {
  uint64_t half_open = 0, jobs_queued = 0;
};

// Under peers.flood (DoS resilience, the IETF IPsec terminology's term): the healthy peers'
// setups in the flood's window against an equal window just before it, in one run. Seconds
// since the run's start.
struct DosResilience {
  double flood_from_s = 0, flood_to_s = 0;  // the first flood's start to the last one's planned end
  double before_from_s = 0;  // the window before: [before_from_s, flood_from_s), no earlier than the first initiate
  uint64_t setups_before = 0, setups_during = 0;
  double setup_rate_before_per_s = 0, setup_rate_during_per_s = 0;
  std::optional<double> ratio;  // during / before; null (no baseline) when nothing was set up before
};

struct Summary {
  uint64_t peers = 0;
  uint64_t established = 0;
  double established_ratio = 0;
  uint64_t failed = 0;
  double setup_rate_per_s = 0;
  LatencySummary setup_latency_ms;
  Rekeys rekeys;
  double renegotiations_per_min = 0;       // scenario time
  double renegotiations_per_min_wall = 0;  // wall clock
  PerRole cpu_s;
  PerRole rss_mb;
  uint64_t unclassified = 0;
  uint64_t leaks = 0;
  uint64_t unclassified_attempts = 0;  // attempts and rekeys whose end no rule names
  uint64_t harness_faults = 0;         // attempts and rekeys that failed on the harness's side
  uint64_t abandoned = 0;              // attempts the harness cut short (not failures)
  uint64_t lost = 0;                   // peers that were up when the SUT died
  uint64_t sut_survived = 1;           // 0: the SUT died or stopped answering
  Rekeys rekeys_in_hold;               // rekeys completed inside the hold windows (counted)
  // Extensions (not in the contract's minimum; documented in the README).
  uint64_t sut_ike_sas_at_connect_end = 0;  // the SUT's own list-sas count
  uint64_t xfrm_states = 0;  // ESP states in the SUT's kernel at that moment (backend vm; 0 elsewhere)
  double wall_s = 0;
  // Benchmarking metrics (the IETF IPsec terminology's tunnel attempt and rekey rates).
  double tunnel_attempts_per_s = 0;  // initiations in the first connect phase / their span
  RekeyRates rekeys_per_s;
  PeakSas peak_sas;
  SutPeaks sut_peak;
  // Written by hand in report.json (absent when they do not apply, so a gate on them fails
  // instead of passing on a zero):
  // with traffic: each sending tunnel's initiate -> the first probe back through it (the
  // IETF IPsec terminology's time to first packet), over the tunnels that carried one.
  std::optional<LatencySummary> time_to_first_packet_ms;
  std::optional<DosResilience> dos_resilience;  // with peers.flood
};

struct CodeCount {
  uint64_t peers = 0;
  uint64_t attempts = 0;
};

struct CodeRef {
  std::string name;
  uint32_t value = 0;
  std::string hex;
};

struct Failure {
  std::string peer;
  std::string address;
  std::string side;      // initiator | responder
  std::string sa;        // ike | child
  std::string exchange;  // IKE_SA_INIT, IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL, ""
  double t_ms = 0;
  CodeRef code;
  bool exact = true;
  std::vector<std::string> evidence;
};

// A failure no rule names, kept with its raw evidence, or a fault on the harness's own side.
// Neither carries a Windows code.
struct RawRecord {
  std::string peer;
  std::string address;
  std::string side;      // initiator | responder
  std::string sa;        // ike | child
  std::string exchange;
  double t_ms = 0;
  std::vector<std::string> evidence;
};

// How the SUT ended when it died during the run.
struct SutDeath {
  double t_ms = 0;                      // since run start, as the harness noticed it
  std::string how;                      // "killed by SIGKILL", "exited with status 1"
  std::vector<std::string> log_tail;    // the last lines of its log
  std::vector<std::string> backtrace;   // charon's own backtrace lines, if it wrote any
};

// A span in which the SUT's process lived but answered neither vici nor any peer.
struct SutUnresponsive {
  double from_ms = 0, to_ms = 0;
};

struct PeerEvent {
  double t_ms = 0;
  std::string event;   // initiate, ike_up, child_up, ike_rekey, child_rekey, failed, ...
  std::string detail;
};

struct PeerTimeline {
  std::string peer;
  std::string address;
  std::string state;  // established | failed | pending
  std::vector<PeerEvent> events;
};

// The SUT's own view in one second, from its vici `stats` (charon's counters, not ours).
struct SutSample {
  uint64_t ike_sas = 0;       // IKE_SAs total (what charon.ikesa_limit is compared with)
  uint64_t half_open = 0;     // half-open IKE_SAs (initiator and responder)
  uint64_t jobs_queued = 0;   // all priorities (what init_limit_job_load is compared with)
  uint64_t workers_idle = 0;
};

// One network namespace's kernel XFRM state in one second (harness/xfrm RunObserver).
struct XfrmSample {
  uint64_t sas = 0;  // larval ones (ACQUIRE placeholders, allocated SPIs) included
  uint64_t policies_in = 0, policies_out = 0, policies_fwd = 0;
  uint64_t acquires = 0, expires = 0;        // notifications in this second
  std::map<std::string, int64_t> xfrm_stat;  // non-zero deltas since the previous second
};

struct TimeseriesPoint {
  double t_s = 0;  // wall seconds since run start
  uint64_t ike_active = 0, ike_pending = 0, ike_failed = 0;
  uint64_t child_active = 0, child_pending = 0, child_failed = 0;
  uint64_t established_total = 0;
  uint64_t attempts = 0, ike_rekeys = 0, child_rekeys = 0;  // in this second
  double sut_cpu_s = 0;  // CPU seconds the SUT's process spent in this second (0: not ours to read, target:)
  std::map<std::string, int64_t> xfrm_stat;  // per-second deltas (the SUT namespace's, non-zero only)
  std::optional<SutSample> sut;              // absent when the SUT did not answer in time
  std::map<std::string, XfrmSample> xfrm;    // by namespace role ("sut", "peers"); empty: not observed
};

struct Expectation {
  std::string expr;
  bool ok = false;
  nlohmann::json observed;
};

// Data-plane counts (scenario `traffic:`, native engine; extension present only with
// traffic). One tunnel's path: sent by the peer -> received_by_sut (the sink in the SUT
// namespace) -> echoed -> received back by the peer. lost = sent - received; agree = no
// loss anywhere and nothing dropped.
struct DataTunnel {
  std::string peer;
  uint64_t sent = 0, received_by_sut = 0, echoed = 0, received = 0, dropped = 0, not_sent = 0;
};

// One induced fault kind: how many were injected, how many could not be made (and why), how
// many the SUT let through to the sink (should be 0), and what else shows what the SUT did.
struct DataFault {
  uint64_t injected = 0, not_injectable = 0, delivered_by_sut = 0;
  std::vector<std::string> evidence;
};

struct DataSummary {
  uint64_t tunnels = 0;
  uint64_t sent = 0, received_by_sut = 0, echoed = 0, received = 0, dropped = 0, not_sent = 0, lost = 0;
  uint64_t misrouted = 0, unrecognized = 0;  // at the sink: from the wrong address / not a probe
  int64_t sut_udp_rcvbuf_errors = -1;         // SUT namespace UDP RcvbufErrors during the holds (-1: not read)
  bool agree = false;
  std::map<std::string, DataFault> faults;   // bad_spi | replay | after_expiry
};

inline constexpr std::size_t kMaxRawRecords = 1000;
inline constexpr std::size_t kMaxFailureRecords = 100000;

struct RunReport {
  nlohmann::json parameters = nlohmann::json::object();
  nlohmann::json effective = nlohmann::json::object();
  Summary summary;
  std::map<std::string, CodeCount> codes;
  std::map<std::string, CodeCount> informational;
  std::vector<Failure> failures;
  std::vector<RawRecord> unclassified;    // the first kMaxRawRecords
  std::vector<RawRecord> harness_faults;  // the first kMaxRawRecords
  std::optional<SutDeath> sut_death;
  std::vector<SutUnresponsive> sut_unresponsive;
  std::vector<double> setup_latency_samples;
  std::vector<PeerTimeline> peers;
  std::vector<TimeseriesPoint> timeseries;
  std::vector<Expectation> expectations;
  std::string folder;            // run folder relative to the report's folder
  // complete | interrupted | harness-fault | sut-died | sut-unresponsive
  std::string outcome = "complete";
  std::vector<std::string> notes;    // what the harness changed or noticed, for people
  std::optional<DataSummary> data;    // summary.data in JSON (with traffic only)
  std::vector<DataTunnel> data_tunnels;  // per tunnel (with traffic only)
};

struct Host {
  std::string kernel, sut_kernel, cpu, strongswan;
};

// A shard report that `ikestorm merge` folded into this one (extension; absent otherwise).
struct MergedShard {
  std::string run_id;
  std::string started_at;
  std::string command;
  std::string source;  // the folder or file it was read from
};

// An external gateway's run (target:; extension, absent otherwise).
struct TargetInfo {
  std::string address;                // target.address
  std::optional<std::string> vendor;  // from the IKE_SA_INIT's vendor IDs, when the peers saw any
  bool counts_available = false;      // the gateway's own counts were read (over target.vici)
};

// One generator of several driving one gateway (`ikestorm run --generator I/N`; extension,
// absent otherwise): which block of the scenario's peers it drove, from which prefixes, and
// how far its real start was from the shared --start-at.
struct GeneratorInfo {
  uint32_t index = 0;            // 1-based
  uint32_t count = 0;            // N
  std::string start_at;          // the shared --start-at instant (RFC 3339 UTC); "" without one
  double start_skew_ms = 0;      // its first arrival's real start minus start_at
  uint64_t first_peer = 0;       // global index of its first peer
  uint64_t peers = 0;            // how many it drove
  std::string peers_prefix;      // its part of target.peers
  std::string inner_prefix;      // its part of target.inner ("" when unset)
};

// One generator's row in a merged report (`generators[]`).
struct GeneratorRow {
  GeneratorInfo generator;
  std::string run_id;
  std::string source;            // the folder or file it was read from
  std::string outcome;           // its first point's outcome
  uint64_t established = 0;      // summed over its points
  double setup_rate_per_s = 0;   // its first point's
};

struct Report {
  int schema_version = kSchemaVersion;
  std::string tool_version;
  std::string run_id;
  std::string started_at;
  std::string command;
  nlohmann::json scenario = nlohmann::json::object();
  // The scenario file's text as the user wrote it (the built-in default's text without a
  // file), before --set; report.html shows it. "" in reports older than this field.
  std::string scenario_yaml;
  std::string backend;
  bool real_xfrm = false;
  Host host;
  std::vector<RunReport> runs;
  std::vector<MergedShard> merged_from;  // only in merged reports
  std::optional<TargetInfo> target;      // only for a target run
  std::optional<GeneratorInfo> generator;  // only in one generator's report
  std::vector<GeneratorRow> generators;    // only in a merged report of generators
};

nlohmann::json to_json(const Report& r);
Result<Report> from_json(const nlohmann::json& j);
// Writes atomically (temp file + rename), pretty-printed.
Status write_json(const Report& r, const std::string& path);
Result<Report> read_json(const std::string& path);

// Percentile by nearest rank on a copy (samples need not be sorted).
double percentile(std::vector<double> samples, double p);
LatencySummary summarize_latency(const std::vector<double>& samples);

}  // namespace ist::reports
