#include "run/classify_run.hpp"

#include <ctime>
#include <fstream>
#include <set>
#include <sstream>
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

}  // namespace

Observation observation_of_failure_text(std::string_view d, bool ike_was_up) {
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
  if (has("initiate:") && !ike_was_up) return Observation::child_dropped_no_ike;
  // giving up after N retransmits / retries, peer not responding, the harness's own timeout
  return Observation::no_response;
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

std::vector<ObservedEvent> initiator_observations(const ClassifyInput& in) {
  std::vector<ObservedEvent> out;
  const auto& tr = *in.tracker;
  for (uint32_t i = 0; i < tr.size(); ++i) {
    const auto& p = tr.peer(i);
    // Every observation of this peer's attempt shares who, where and which attempt.
    auto observe = [&](Observation what, SaKind sa, const char* exchange, MonoTime t, std::string evidence) {
      out.push_back(initiator_event(in, i, std::to_string(p.attempts), what, sa, exchange, t, std::move(evidence)));
    };
    if (p.state == fleet::PeerState::failed) {
      bool ike_up = p.ike_up_at.has_value();
      observe(observation_of_failure_text(p.failure, ike_up), ike_up ? SaKind::child : SaKind::ike,
              ike_up ? "IKE_AUTH" : "IKE_SA_INIT", p.initiated, p.failure);
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
    out.push_back(initiator_event(in, f.peer, "rekey-" + std::to_string(++n), observation_of_failure_text(f.detail, true),
                                  ike ? SaKind::ike : SaKind::child, del ? "INFORMATIONAL" : "CREATE_CHILD_SA", f.t,
                                  f.detail));
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

ClassifyOutput classify_point(const ClassifyInput& in, reports::RunReport& rep) {
  ClassifyOutput out;
  out.events = initiator_observations(in);
  for (auto& e : kernel_observations(in)) out.events.push_back(std::move(e));
  for (auto& e : xfrm_counter_observations(rep.timeseries)) out.events.push_back(std::move(e));

  // The SUT's side, from its filelog.
  std::vector<ObservedEvent> limit_hits;
  std::unordered_set<std::string> reached_sut;  // addresses the SUT saw initiating
  if (!in.sut_log.empty()) {
    std::ifstream f(in.sut_log, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    const std::string text = ss.str();
    const int64_t log_t0 = ms_since_local_year_start(in.run_start_wall);
    const int64_t teardown_ms = in.teardown_start_s < 0 ? INT64_MAX : static_cast<int64_t>(in.teardown_start_s * 1000);
    // The SUT's lines name a peer by address (or identity); records use the harness's peer
    // names so both sides of one peer count as one peer.
    std::unordered_map<std::string, std::string> name_of_address;
    for (std::size_t i = 0; i < in.peer_addresses.size() && i < in.peer_names.size(); ++i)
      name_of_address.emplace(in.peer_addresses[i], in.peer_names[i]);
    charon::LogJoiner joiner;
    auto sink = [&](const charon::JoinedLogEvent& j) {
      if (j.kind == charon::LogEventKind::ike_init_received && !j.peer_address.empty())
        reached_sut.insert(j.peer_address);
      auto e = charon::observe_charon_log_event(j, Side::responder);
      if (!e) return;
      if (auto it = name_of_address.find(e->address); it != name_of_address.end() && e->peer != it->second) {
        if (!e->peer.empty()) e->evidence.push_back("the SUT names the peer '" + e->peer + "'");
        e->peer = it->second;
      }
      e->t_ms = j.t_ms < 0 ? 0 : j.t_ms - log_t0;
      if (e->what == Observation::delete_received && e->t_ms >= teardown_ms) return;
      if (e->what == Observation::ike_sa_limit_hit && e->address.empty()) {
        limit_hits.push_back(std::move(*e));
        return;
      }
      out.events.push_back(std::move(*e));
    };
    charon::for_each_log_line(text, [&](const charon::LogEvent& e) { joiner.feed(e, sink); });
    joiner.finish(sink);
  }

  // Attribute the address-less limit drops to the peers that never reached the SUT.
  if (!limit_hits.empty()) {
    std::vector<const ObservedEvent*> unanswered;
    for (const auto& e : out.events)
      if (e.side == Side::initiator && e.what == Observation::no_response && !reached_sut.count(e.address))
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
      // Nothing to attribute them to (e.g. a retry got through): keep them as they are.
      out.events.insert(out.events.end(), limit_hits.begin(), limit_hits.end());
    } else {
      out.notes.push_back(std::to_string(limit_hits.size()) + " IKE_SA-limit drops in the SUT log attributed to " +
                          std::to_string(joined.size()) + " peer(s) that never reached the SUT");
      out.events.insert(out.events.end(), joined.begin(), joined.end());
    }
  }

  taxonomy::Classifier classifier;
  out.result = classifier.classify(out.events);
  for (const auto& f : out.result.failures) rep.failures.push_back(to_report(f));
  for (const auto& [name, c] : out.result.codes)
    rep.codes[name] = {c.peers.value_or(0), c.attempts};
  for (const auto& [name, c] : out.result.informational_codes)
    rep.informational[name] = {c.peers.value_or(0), c.attempts};

  // Failed peers no record names (on any side) are unclassified.
  std::set<std::string> named;
  for (const auto& f : out.result.failures)
    if (!f.peer.empty()) named.insert(f.peer);
  uint64_t unclassified = 0;
  for (uint32_t i = 0; i < in.tracker->size(); ++i)
    if (in.tracker->peer(i).state == fleet::PeerState::failed && !named.count(in.peer_names[i])) ++unclassified;
  rep.summary.unclassified = unclassified;
  for (auto& n : out.notes) rep.notes.push_back(n);
  return out;
}

}  // namespace ist::run
