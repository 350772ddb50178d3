#include "run/classify_run.hpp"

#include <algorithm>
#include <ctime>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "charon/log_parser.hpp"
#include "taxonomy/classifier.hpp"
#include "charon/log_observations.hpp"

namespace ist::run {

using taxonomy::Observation;
using taxonomy::ObservedEvent;
using taxonomy::SaKind;
using taxonomy::Side;

namespace {

int64_t ms_of(MonoTime t, MonoTime t0) { return static_cast<int64_t>(ms_between(t0, t)); }

// Milliseconds since the start of the local year: the clock charon's filelog lines give
// (time_format has no year), so log times can be put on the run's own timeline.
int64_t ms_since_local_year_start(std::chrono::system_clock::time_point tp) {
  std::time_t secs = std::chrono::system_clock::to_time_t(tp);
  std::tm tm{};
  localtime_r(&secs, &tm);
  std::tm jan1 = tm;
  jan1.tm_mon = 0;
  jan1.tm_mday = 1;
  jan1.tm_hour = jan1.tm_min = jan1.tm_sec = 0;
  jan1.tm_isdst = -1;
  std::time_t start = std::mktime(&jan1);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count() % 1000;
  return static_cast<int64_t>(secs - start) * 1000 + ms;
}

reports::Failure to_report(const taxonomy::FailureRecord& f) {
  reports::Failure r;
  r.peer = f.peer;
  r.address = f.address;
  r.side = std::string(taxonomy::to_string(f.side));
  r.sa = std::string(taxonomy::to_string(f.sa));
  r.exchange = f.exchange;
  r.t_ms = static_cast<double>(f.t_ms);
  r.code = {f.code.name, f.code.value, f.code.hex};
  r.exact = f.exact;
  r.evidence = f.evidence;
  return r;
}

reports::RawRecord to_raw(const ObservedEvent& e) {
  return {e.peer, e.address, std::string(taxonomy::to_string(e.side)), std::string(taxonomy::to_string(e.sa)),
          e.exchange, static_cast<double>(e.t_ms), e.evidence};
}

// The first kMaxRawRecords into the report; the rest counted in a note.
void keep_raw(const std::vector<ObservedEvent>& events, std::vector<reports::RawRecord>& into, const char* what,
              std::vector<std::string>& notes) {
  for (std::size_t i = 0; i < events.size() && i < reports::kMaxRawRecords; ++i) into.push_back(to_raw(events[i]));
  if (events.size() > reports::kMaxRawRecords)
    notes.push_back(std::to_string(events.size()) + " " + what + " records; the report keeps the first " +
                    std::to_string(reports::kMaxRawRecords));
}

}  // namespace

std::optional<Observation> observation_of_failure_text(std::string_view d) {
  auto has = [&](std::string_view s) { return d.find(s) != std::string_view::npos; };
  if (has("AUTHENTICATION_FAILED") || has("but MAC mismatched") || has("no shared key found for") ||
      has("no trusted ") || has("verification of AUTH payload") || has("constraint check failed"))
    return Observation::authentication_failed;
  if (has("NO_PROPOSAL_CHOSEN")) return Observation::no_proposal_chosen;
  if (has("TS_UNACCEPTABLE") || has("INVALID_SELECTORS")) return Observation::ts_unacceptable;
  if (has("UNSUPPORTED_CRITICAL_PAYLOAD")) return Observation::unsupported_critical_payload;
  if (has("INVALID_MAJOR_VERSION")) return Observation::invalid_major_version;
  if (has("INVALID_SYNTAX")) return Observation::invalid_syntax;
  if (has("notify error") || has("no CHILD_SA built")) return Observation::notify_error;
  // Anything else (an answer the engine could not use, a retry limit, a text no one taught
  // us) stays unclassified with its evidence: no code without a rule.
  return std::nullopt;
}

namespace {

ObservedEvent initiator_event(const ClassifyInput& in, uint32_t peer, const std::string& attempt_suffix,
                              Observation what, SaKind sa, const char* exchange, MonoTime t, std::string evidence) {
  ObservedEvent e;
  e.side = Side::initiator;
  e.what = what;
  e.sa = sa;
  e.exchange = exchange;
  e.peer = in.peer_names.at(peer);
  e.address = in.peer_addresses.at(peer);
  e.attempt = e.peer + "#" + attempt_suffix;
  e.t_ms = ms_of(t, in.run_start);
  e.evidence = {std::move(evidence)};
  return e;
}

}  // namespace

InitiatorObservations initiator_observations(const ClassifyInput& in) {
  InitiatorObservations out;
  const auto& tr = *in.tracker;
  // An attempt's (or a rekey's) end: rule input when its kind and text say what it was, a
  // harness record when the harness failed, else an unclassified record with its evidence.
  auto ended = [&](fleet::FailureKind kind, std::string_view text, ObservedEvent e) {
    std::optional<Observation> what;
    if (kind == fleet::FailureKind::no_response) what = Observation::no_response;
    else if (kind == fleet::FailureKind::evidence) what = observation_of_failure_text(text);
    if (kind == fleet::FailureKind::harness) {
      out.harness.push_back(std::move(e));
    } else if (what) {
      e.what = *what;
      out.events.push_back(std::move(e));
    } else {
      out.unclassified.push_back(std::move(e));
    }
  };
  for (uint32_t i = 0; i < tr.size(); ++i) {
    const auto& p = tr.peer(i);
    // Every observation of this peer's attempt shares who, where and which attempt.
    auto event = [&](Observation what, SaKind sa, const char* exchange, MonoTime t, std::string evidence) {
      return initiator_event(in, i, std::to_string(p.attempts), what, sa, exchange, t, std::move(evidence));
    };
    auto observe = [&](Observation what, SaKind sa, const char* exchange, MonoTime t, std::string evidence) {
      out.events.push_back(event(what, sa, exchange, t, std::move(evidence)));
    };
    if (p.state == fleet::PeerState::failed) {
      // The exchange the engine saw the attempt fail in; else inferred from what was up.
      bool ike_up = p.ike_up_at.has_value();
      const char* exchange = p.failure_exchange ? p.failure_exchange : ike_up ? "IKE_AUTH" : "IKE_SA_INIT";
      ended(p.failure_kind, p.failure,
            event(Observation::notify_error, ike_up ? SaKind::child : SaKind::ike, exchange, p.initiated, p.failure));
    }
    // A slow setup is established and also carries a delay record (MM/QM_DELAY_DROP).
    if (p.ike_up_at && *p.ike_up_at - p.initiated > in.deadline_ike)
      observe(Observation::ike_deadline_missed, SaKind::ike, "IKE_SA_INIT", *p.ike_up_at,
              "IKE_SA up " + std::to_string(ms_of(*p.ike_up_at, p.initiated)) + " ms after initiate; deadline " +
                  std::to_string(in.deadline_ike.count()) + " ms");
    if (p.child_up_at && p.ike_up_at && *p.child_up_at - *p.ike_up_at > in.deadline_child)
      observe(Observation::child_deadline_missed, SaKind::child, "IKE_AUTH", *p.child_up_at,
              "CHILD_SA up " + std::to_string(ms_of(*p.child_up_at, *p.ike_up_at)) + " ms after its IKE_SA; deadline " +
                  std::to_string(in.deadline_child.count()) + " ms");
    // A CHILD rekey is a quick mode of its own (CREATE_CHILD_SA): slower than the deadline
    // is QM_DELAY_DROP too (engines that measure it: native).
    if (p.slowest_child_rekey_at && p.slowest_child_rekey > in.deadline_child)
      observe(Observation::child_deadline_missed, SaKind::child, "CREATE_CHILD_SA", *p.slowest_child_rekey_at,
              "CHILD_SA rekey (CREATE_CHILD_SA) answered " + std::to_string(p.slowest_child_rekey.count()) +
                  " ms after its request; deadline " + std::to_string(in.deadline_child.count()) + " ms");
  }
  // Failed rekeys of established peers (the native engine's; the charon fleet's come from its
  // logs): each is an exchange of its own, named apart from the peer's setup attempts. The
  // texts are the engine's failure texts ("CHILD_SA rekey refused with TS_UNACCEPTABLE",
  // "IKE_SA rekey ...", "bad KE data in IKE rekey", "delete of the rekeyed CHILD_SA: ...",
  // "delete of the rekeyed IKE_SA: ...").
  uint32_t n = 0;
  for (const auto& f : tr.rekey_failures()) {
    if (f.peer >= tr.size()) continue;
    const bool ike = f.detail.find("IKE_SA") != std::string::npos || f.detail.find("IKE rekey") != std::string::npos;
    const bool del = f.detail.find("delete of") != std::string::npos;
    ended(f.kind, f.detail,
          initiator_event(in, f.peer, "rekey-" + std::to_string(++n), Observation::notify_error,
                          ike ? SaKind::ike : SaKind::child, del ? "INFORMATIONAL" : "CREATE_CHILD_SA", f.t, f.detail));
  }
  return out;
}

std::vector<ObservedEvent> kernel_observations(const ClassifyInput& in) {
  std::vector<ObservedEvent> out;
  std::set<std::pair<uint32_t, std::string>> seen;  // one record per peer and namespace
  for (const auto& k : in.kernel_events) {
    if (k.kind != "acquire" || k.peer >= in.tracker->size() || seen.count({k.peer, k.ns})) continue;
    const auto& p = in.tracker->peer(k.peer);
    const int64_t deadline_ms = k.t_ms + in.deadline_ike.count();
    const bool up_in_time = p.ike_up_at && ms_of(*p.ike_up_at, in.run_start) <= deadline_ms;
    if (up_in_time) continue;
    seen.insert({k.peer, k.ns});
    ObservedEvent e;
    e.side = k.ns == "sut" ? Side::responder : Side::initiator;
    e.what = Observation::child_dropped_no_ike;
    e.sa = SaKind::child;
    e.peer = in.peer_names.at(k.peer);
    e.address = in.peer_addresses.at(k.peer);
    e.attempt = e.peer + "#acquire-" + k.ns;
    e.t_ms = deadline_ms;
    e.evidence = {"kernel (" + k.ns + "): " + k.detail,
                  p.ike_up_at ? "IKE_SA up only " + std::to_string(ms_of(*p.ike_up_at, in.run_start) - k.t_ms) +
                                    " ms after the ACQUIRE; deadline " + std::to_string(in.deadline_ike.count()) + " ms"
                              : "no IKE_SA up within " + std::to_string(in.deadline_ike.count()) +
                                    " ms of the ACQUIRE (never, in this run)"};
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<ObservedEvent> xfrm_counter_observations(const std::vector<reports::TimeseriesPoint>& ts) {
  static const std::pair<const char*, Observation> kCounters[] = {
      {"XfrmInNoStates", Observation::xfrm_in_no_states},
      {"XfrmInStateExpired", Observation::xfrm_in_state_expired},
      {"XfrmInStateSeqError", Observation::xfrm_in_seq_error},
      {"XfrmInStateProtoError", Observation::xfrm_in_proto_error},
      {"XfrmOutNoStates", Observation::xfrm_out_no_states},
  };
  std::vector<ObservedEvent> out;
  for (const auto& pt : ts) {
    for (const auto& [ns, sample] : pt.xfrm) {
      for (const auto& [name, what] : kCounters) {
        auto it = sample.xfrm_stat.find(name);
        if (it == sample.xfrm_stat.end() || it->second <= 0) continue;
        ObservedEvent e;
        e.side = ns == "sut" ? Side::responder : Side::initiator;
        e.what = what;
        e.sa = SaKind::child;
        e.t_ms = static_cast<int64_t>(pt.t_s * 1000);
        e.count = static_cast<uint64_t>(it->second);
        e.evidence = {"xfrm_stat " + std::string(name) + " +" + std::to_string(it->second) + " in the " + ns +
                      " namespace in the second before t=" + std::to_string(e.t_ms) + " ms"};
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

// peers.trap_traffic: when every datagram the sink missed is one the peers' kernel counted as
// dropped for want of an SA (lost == XfrmOutNoStates, summary.trap_traffic.lost_is_no_state),
// each peer's loss is its own count of such drops: one event per peer that lost any, with its
// ACQUIREs (which name its policy) as evidence. Fills trap_traffic_peers[].acquires.
std::vector<ObservedEvent> trap_traffic_observations(const ClassifyInput& in, reports::RunReport& rep) {
  std::vector<ObservedEvent> out;
  if (!rep.trap_traffic) return out;
  std::unordered_map<std::string, uint32_t> index_of;
  for (uint32_t i = 0; i < in.peer_names.size(); ++i) index_of.emplace(in.peer_names[i], i);
  std::unordered_map<uint32_t, std::vector<const ClassifyInput::KernelEvent*>> acquires;
  for (const auto& k : in.kernel_events)
    if (k.kind == "acquire" && k.ns == "peers") acquires[k.peer].push_back(&k);
  const auto& t = *rep.trap_traffic;
  for (auto& p : rep.trap_traffic_peers) {
    auto it = index_of.find(p.peer);
    if (it == index_of.end()) continue;
    const auto& acq = acquires[it->second];
    p.acquires = acq.size();
    if (!t.lost_is_no_state || p.lost == 0) continue;
    ObservedEvent e;
    e.side = Side::initiator;
    e.what = Observation::xfrm_out_no_states;
    e.sa = SaKind::child;
    e.peer = p.peer;
    e.address = in.peer_addresses.at(it->second);
    e.attempt = "";  // unkeyed: the record's attempts are its dropped datagrams, like the counter's
    e.t_ms = acq.empty() ? 0 : acq.front()->t_ms;
    e.count = p.lost;
    e.evidence = {"trap traffic: " + std::to_string(p.sent) + " datagrams sent from its inner address, " +
                      std::to_string(p.received_by_sut) + " reached the SUT's protected address: " +
                      std::to_string(p.lost) + " lost",
                  "xfrm_stat XfrmOutNoStates +" + std::to_string(t.peers_xfrm_out_no_states) +
                      " in the peers namespace over the run = all peers' " + std::to_string(t.lost) +
                      " lost datagrams: each was dropped by the peers' kernel for want of an SA",
                  std::to_string(acq.size()) + " ACQUIRE(s) for its policy in the peers namespace" +
                      (acq.empty() ? std::string() : ", the first at t=" + std::to_string(acq.front()->t_ms) + " ms: " +
                                                         acq.front()->detail)};
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

// The peers' kernel's side: ACQUIREs and counters, and the trap traffic's drops named per
// peer where the counter accounts for every lost datagram.
void add_kernel_side(const ClassifyInput& in, reports::RunReport& rep, ClassifyOutput& out) {
  for (auto& e : kernel_observations(in)) out.events.push_back(std::move(e));
  std::vector<ObservedEvent> per_peer = trap_traffic_observations(in, rep);
  for (auto& e : xfrm_counter_observations(rep.timeseries)) {
    // Named per peer above: the peers namespace's anonymous drops are the same datagrams.
    if (!per_peer.empty() && e.what == Observation::xfrm_out_no_states && e.side == Side::initiator) continue;
    out.events.push_back(std::move(e));
  }
  for (auto& e : per_peer) out.events.push_back(std::move(e));
  if (rep.trap_traffic && rep.trap_traffic->lost > 0 && !rep.trap_traffic->lost_is_no_state)
    out.notes.push_back("trap traffic: " + std::to_string(rep.trap_traffic->lost) + " datagrams lost, the peers' kernel "
                        "counted " + std::to_string(rep.trap_traffic->peers_xfrm_out_no_states) +
                        " dropped for want of an SA (XfrmOutNoStates): not all losses are the kernel's, so its drops "
                        "are reported without peers");
}

// What the SUT's filelog (or a gateway's streamed log) says, joined into events. Limit drops
// that name no address are set aside in `limit_hits`; `reached_sut` collects the addresses
// the SUT saw initiating.
struct SutLogSide {
  std::vector<ObservedEvent> limit_hits;
  std::unordered_set<std::string> reached_sut;
};

SutLogSide add_sut_log_side(const ClassifyInput& in, ClassifyOutput& out) {
  SutLogSide side;
  if (in.sut_log.empty()) return side;
  const int64_t log_t0 = ms_since_local_year_start(in.run_start_wall);
  const int64_t teardown_ms = in.teardown_start_s < 0 ? INT64_MAX : static_cast<int64_t>(in.teardown_start_s * 1000);
  // The SUT's lines name a peer by address (or identity); records use the harness's peer
  // names so both sides of one peer count as one peer.
  std::unordered_map<std::string, std::string> name_of_address;
  for (std::size_t i = 0; i < in.peer_addresses.size() && i < in.peer_names.size(); ++i)
    name_of_address.emplace(in.peer_addresses[i], in.peer_names[i]);
  charon::LogJoiner joiner;
  uint64_t foreign = 0;  // lines about others' addresses (sut_shared)
  auto sink = [&](const charon::JoinedLogEvent& j) {
    if (j.kind == charon::LogEventKind::ike_init_received && !j.peer_address.empty())
      side.reached_sut.insert(j.peer_address);
    auto e = charon::observe_charon_log_event(j, Side::responder);
    if (!e) return;
    if (in.sut_shared && !e->address.empty() && !name_of_address.count(e->address)) {
      ++foreign;
      return;
    }
    if (auto it = name_of_address.find(e->address); it != name_of_address.end() && e->peer != it->second) {
      if (!e->peer.empty()) e->evidence.push_back("the SUT names the peer '" + e->peer + "'");
      e->peer = it->second;
    }
    e->t_ms = j.t_ms < 0 ? 0 : j.t_ms - log_t0;
    if (e->what == Observation::delete_received && e->t_ms >= teardown_ms) return;
    if (e->what == Observation::ike_sa_limit_hit && e->address.empty()) {
      side.limit_hits.push_back(std::move(*e));
      return;
    }
    out.events.push_back(std::move(*e));
  };
  if (!charon::for_each_log_line_in_file(in.sut_log, [&](const charon::LogEvent& e) { joiner.feed(e, sink); }))
    out.notes.push_back("the SUT's log " + in.sut_log + " could not be read whole: its records may be missing");
  joiner.finish(sink);
  if (foreign != 0)
    out.notes.push_back("the gateway's log: " + std::to_string(foreign) +
                        " event(s) about addresses that are not this run's peers left out (other generators "
                        "or clients)");
  return side;
}

// Attributes the address-less limit drops to the peers that never reached the SUT.
void attribute_limit_drops(const ClassifyInput& in, const SutLogSide& side, ClassifyOutput& out) {
  const auto& limit_hits = side.limit_hits;
  if (limit_hits.empty()) return;
  std::vector<const ObservedEvent*> unanswered;
  for (const auto& e : out.events)
    if (e.side == Side::initiator && e.what == Observation::no_response && !side.reached_sut.count(e.address))
      unanswered.push_back(&e);
  const std::string first_line = limit_hits.front().evidence.empty() ? "" : limit_hits.front().evidence.back();
  std::vector<ObservedEvent> joined;
  for (const ObservedEvent* u : unanswered) {
    ObservedEvent e = limit_hits.front();
    e.peer = u->peer;
    e.address = u->address;
    e.attempt = u->attempt;
    e.t_ms = u->t_ms;
    e.evidence = {first_line,
                  "the SUT logged this " + std::to_string(limit_hits.size()) +
                      " times during the run and never '" + u->address + " is initiating an IKE_SA'",
                  "initiator: " + (u->evidence.empty() ? std::string("no response") : u->evidence.front())};
    joined.push_back(std::move(e));
  }
  if (joined.empty()) {
    // Nothing to attribute them to (e.g. a retry got through): keep them as they are,
    // unless the gateway is shared (they may be anyone's).
    if (!in.sut_shared) out.events.insert(out.events.end(), limit_hits.begin(), limit_hits.end());
    return;
  }
  out.notes.push_back(std::to_string(limit_hits.size()) + " IKE_SA-limit drops in the SUT log attributed to " +
                      std::to_string(joined.size()) + " peer(s) that never reached the SUT");
  out.events.insert(out.events.end(), joined.begin(), joined.end());
}

// The classifier's verdict into the report: records (capped), codes, what no rule names,
// the harness's faults, and failed peers no record names.
void record_verdict(const ClassifyInput& in, InitiatorObservations& initiators, reports::RunReport& rep,
                    ClassifyOutput& out) {
  // Records up to a cap in the report (a day's soak of rekey collisions would make report.json
  // hundreds of megabytes); the codes' counts below stay exact.
  for (std::size_t i = 0; i < out.result.failures.size() && i < reports::kMaxFailureRecords; ++i)
    rep.failures.push_back(to_report(out.result.failures[i]));
  if (out.result.failures.size() > reports::kMaxFailureRecords)
    out.notes.push_back(std::to_string(out.result.failures.size()) + " failure records; the report keeps the first " +
                        std::to_string(reports::kMaxFailureRecords) + " (codes count them all)");
  for (const auto& [name, c] : out.result.codes)
    rep.codes[name] = {c.peers.value_or(0), c.attempts};
  for (const auto& [name, c] : out.result.informational_codes)
    rep.informational[name] = {c.peers.value_or(0), c.attempts};

  // What no rule names, and the harness's own faults: records without a code.
  for (auto& e : out.result.unclassified) initiators.unclassified.push_back(std::move(e));
  std::stable_sort(initiators.unclassified.begin(), initiators.unclassified.end(),
                   [](const ObservedEvent& a, const ObservedEvent& b) { return a.t_ms < b.t_ms; });
  keep_raw(initiators.unclassified, rep.unclassified, "unclassified", out.notes);
  keep_raw(initiators.harness, rep.harness_faults, "harness fault", out.notes);
  rep.summary.unclassified_attempts = initiators.unclassified.size();
  rep.summary.harness_faults = in.tracker->harness_faults();

  // Failed peers no record names (on any side) are unclassified, unless the harness failed them.
  std::set<std::string> named;
  for (const auto& f : out.result.failures)
    if (!f.peer.empty()) named.insert(f.peer);
  uint64_t unclassified = 0;
  for (uint32_t i = 0; i < in.tracker->size(); ++i) {
    const auto& p = in.tracker->peer(i);
    if (p.state == fleet::PeerState::failed && p.failure_kind != fleet::FailureKind::harness &&
        !named.count(in.peer_names[i]))
      ++unclassified;
  }
  rep.summary.unclassified = unclassified;
}

}  // namespace

ClassifyOutput classify_point(const ClassifyInput& in, reports::RunReport& rep) {
  ClassifyOutput out;
  InitiatorObservations initiators = initiator_observations(in);
  out.events = std::move(initiators.events);
  add_kernel_side(in, rep, out);
  const SutLogSide sut_side = add_sut_log_side(in, out);
  attribute_limit_drops(in, sut_side, out);
  taxonomy::Classifier classifier;
  out.result = classifier.classify(out.events);
  record_verdict(in, initiators, rep, out);
  for (auto& n : out.notes) rep.notes.push_back(n);
  return out;
}

}  // namespace ist::run
