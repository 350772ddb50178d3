#include "taxonomy/classifier.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace ist::taxonomy {

Classifier::Classifier(const CodeTable& codes, std::span<const Rule> table)
    : codes_(codes), table_(table) {}

namespace {

void append_evidence(FailureRecord& r, const std::vector<std::string>& ev) {
  for (const auto& line : ev) {
    if (r.evidence.size() >= kMaxEvidencePerRecord) return;
    r.evidence.push_back(line);
  }
}

struct Tally {
  uint64_t attempts = 0;
  std::set<std::string> peers;
  bool unattributed = false;
};

void count(std::map<std::string, Tally>& tallies, const FailureRecord& r, uint64_t attempts) {
  Tally& t = tallies[r.code.name];
  t.attempts += attempts;
  if (!r.address.empty()) t.peers.insert("a:" + r.address);
  else if (!r.peer.empty()) t.peers.insert("p:" + r.peer);
  else t.unattributed = true;
}

std::map<std::string, CodeCount> finish(const std::map<std::string, Tally>& tallies) {
  std::map<std::string, CodeCount> out;
  for (const auto& [name, t] : tallies) {
    CodeCount c;
    c.attempts = t.attempts;
    if (!t.unattributed) c.peers = t.peers.size();
    out[name] = c;
  }
  return out;
}

}  // namespace

Classification Classifier::classify(std::span<const ObservedEvent> events) const {
  // Stable order by time so evidence and t_ms come from the first occurrence.
  std::vector<const ObservedEvent*> order;
  order.reserve(events.size());
  for (const auto& e : events) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(),
                   [](const ObservedEvent* a, const ObservedEvent* b) { return a->t_ms < b->t_ms; });

  Classification out;
  struct Built {
    FailureRecord record;
    uint64_t attempts;  // 1 for a keyed record; `count` sum for unkeyed ones
  };
  std::vector<Built> built;
  using Key = std::tuple<std::string_view, Side, SaKind, std::string>;
  std::map<Key, std::size_t> by_attempt;

  for (const ObservedEvent* e : order) {
    const Rule* rule = find_rule(table_, *e);
    const Code* code = rule ? codes_.by_name(rule->code) : nullptr;
    if (!code) {
      out.unclassified.push_back(*e);
      continue;
    }
    uint64_t n = e->count == 0 ? 1 : e->count;
    if (!e->attempt.empty()) {
      Key key{rule->id, e->side, e->sa, e->attempt};
      if (auto it = by_attempt.find(key); it != by_attempt.end()) {
        FailureRecord& r = built[it->second].record;
        r.occurrences += n;
        if (r.address.empty()) r.address = e->address;
        if (r.peer.empty()) r.peer = e->peer;
        append_evidence(r, e->evidence);
        continue;
      }
      by_attempt.emplace(std::move(key), built.size());
    }
    FailureRecord r;
    r.peer = e->peer;
    r.address = e->address;
    r.side = e->side;
    r.sa = e->sa;
    r.exchange = e->exchange;
    r.t_ms = e->t_ms;
    r.code = CodeRef{code->name, code->value, code->hex};
    r.exact = rule->mapping == Mapping::exact;
    r.informational = rule->informational;
    r.rule = std::string(rule->id);
    r.occurrences = n;
    append_evidence(r, e->evidence);
    built.push_back(Built{std::move(r), e->attempt.empty() ? n : 1});
  }

  std::map<std::string, Tally> failure_tallies, info_tallies;
  for (auto& b : built) {
    if (b.record.informational) {
      count(info_tallies, b.record, b.attempts);
      out.informational.push_back(std::move(b.record));
    } else {
      count(failure_tallies, b.record, b.attempts);
      out.failures.push_back(std::move(b.record));
    }
  }
  out.codes = finish(failure_tallies);
  out.informational_codes = finish(info_tallies);
  return out;
}

}  // namespace ist::taxonomy
