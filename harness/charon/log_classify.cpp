#include "charon/log_classify.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "charon/log_parser.hpp"
#include "charon/log_observations.hpp"
#include "taxonomy/rules.hpp"

namespace ist::charon {
namespace {

namespace tx = ist::taxonomy;
using nlohmann::json;

// Lines only a responder (the SUT) writes, and the line of an initiator.
bool responder_line(LogEventKind k) {
  return k == LogEventKind::ike_init_received || k == LogEventKind::ike_sa_limit_hit ||
         k == LogEventKind::half_open_limit || k == LogEventKind::cookie_sent;
}

json peers_json(const std::optional<uint64_t>& p) { return p ? json(*p) : json(nullptr); }

json record_json(const tx::FailureRecord& r) {
  return {{"peer", r.peer},
          {"address", r.address},
          {"side", tx::to_string(r.side)},
          {"sa", tx::to_string(r.sa)},
          {"exchange", r.exchange},
          {"t_ms", r.t_ms},
          {"code", {{"name", r.code.name}, {"value", r.code.value}, {"hex", r.code.hex}}},
          {"exact", r.exact},
          {"evidence", r.evidence},
          {"rule", r.rule},
          {"occurrences", r.occurrences}};
}

const tx::Rule* rule_by_id(std::string_view id) {
  for (const auto& r : tx::rules())
    if (r.id == id) return &r;
  return nullptr;
}

// The rules that produced a record, in id order.
std::set<std::string> rules_used(const tx::Classification& c) {
  std::set<std::string> used;
  for (const auto& r : c.failures) used.insert(r.rule);
  for (const auto& r : c.informational) used.insert(r.rule);
  return used;
}

// Per (code, side): attempts and distinct peers, as the table shows them.
struct Row {
  std::string code;
  uint32_t value = 0;
  std::string side;
  bool exact = true;
  bool informational = false;
  uint64_t attempts = 0;
  std::set<std::string> peers;
  bool unattributed = false;
};

std::vector<Row> rows_of(const tx::Classification& c) {
  std::map<std::pair<std::string, std::string>, Row> rows;
  auto add = [&](const tx::FailureRecord& r) {
    Row& row = rows[{r.code.name, std::string(tx::to_string(r.side))}];
    row.code = r.code.name;
    row.value = r.code.value;
    row.side = tx::to_string(r.side);
    row.exact = row.attempts == 0 ? r.exact : (row.exact && r.exact);
    row.informational = r.informational;
    row.attempts += 1;
    if (!r.address.empty()) row.peers.insert(r.address);
    else if (!r.peer.empty()) row.peers.insert("peer:" + r.peer);
    else row.unattributed = true;
  };
  for (const auto& r : c.failures) add(r);
  for (const auto& r : c.informational) add(r);
  std::vector<Row> out;
  for (auto& [k, row] : rows) out.push_back(std::move(row));
  std::stable_sort(out.begin(), out.end(),
                   [](const Row& a, const Row& b) { return a.informational < b.informational; });
  return out;
}

std::string pad(std::string s, std::size_t w) {
  s.resize(std::max(s.size(), w), ' ');
  return s;
}

}  // namespace

Result<LogSource> observe_log_text(std::string_view text, const std::string& path,
                                   std::optional<taxonomy::Side> side,
                                   std::vector<taxonomy::ObservedEvent>& out) {
  LogSource src;
  src.path = path;
  // charon writes whole lines: a last line without its newline was cut off (truncated copy,
  // or still being written). It is left out and reported.
  std::string_view body = text;
  if (!body.empty() && body.back() != '\n') {
    std::size_t nl = body.rfind('\n');
    body = nl == std::string_view::npos ? std::string_view() : body.substr(0, nl + 1);
    src.incomplete_last_line = true;
  }

  std::vector<JoinedLogEvent> joined;
  LogJoiner joiner;
  std::size_t responder_hints = 0, initiator_hints = 0;
  for_each_log_line(body, [&](const LogEvent& e) {
    ++src.lines;
    if (responder_line(e.kind)) ++responder_hints;
    if (e.kind == LogEventKind::ike_initiating) ++initiator_hints;
    joiner.feed(e, [&](const JoinedLogEvent& j) { joined.push_back(j); });
  });
  joiner.finish([&](const JoinedLogEvent& j) { joined.push_back(j); });
  src.charon_lines = joiner.charon_lines();
  if (src.charon_lines == 0) {
    std::string why = text.empty() ? "the file is empty"
                      : src.incomplete_last_line && src.lines == 0
                          ? "it holds no complete line (truncated?)"
                          : "none of its " + std::to_string(src.lines) + " lines is a charon log line";
    return Error(path + ": not a charon log: " + why +
                 " (expected filelog or syslog lines such as 'Nov 23 18:48:06.490 09[IKE] <rw|1> ...')");
  }
  if (side) {
    src.side = *side;
  } else {
    src.side = initiator_hints > responder_hints ? tx::Side::initiator : tx::Side::responder;
    src.side_detected = responder_hints + initiator_hints > 0;
  }
  // Unique ids and SPIs are per daemon: key attempts by file too, or two logs' "uid:1" merge.
  const std::string key_prefix = path + "#";
  for (const auto& j : joined)
    if (auto e = observe_charon_log_event(j, src.side)) {
      if (!e->attempt.empty()) e->attempt = key_prefix + e->attempt;
      out.push_back(std::move(*e));
    }
  return src;
}

Result<LogSource> observe_log_file(const std::string& path, std::optional<taxonomy::Side> side,
                                   std::vector<taxonomy::ObservedEvent>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error(path + ": cannot open: " + std::strerror(errno));
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return Error(path + ": read error");
  return observe_log_text(ss.str(), path, side, out);
}

LogClassification classify_observations(std::vector<LogSource> sources,
                                        std::vector<taxonomy::ObservedEvent> events) {
  int64_t t0 = -1;
  for (const auto& e : events)
    if (e.t_ms > 0 && (t0 < 0 || e.t_ms < t0)) t0 = e.t_ms;
  if (t0 > 0)
    for (auto& e : events) e.t_ms = e.t_ms > 0 ? e.t_ms - t0 : 0;
  return {std::move(sources), tx::Classifier().classify(events)};
}

nlohmann::json log_classification_json(const LogClassification& lc) {
  const tx::Classification& c = lc.result;
  json doc;
  doc["sources"] = json::array();
  for (const auto& s : lc.sources)
    doc["sources"].push_back({{"path", s.path}, {"side", tx::to_string(s.side)},
                              {"lines", s.lines}, {"charon_lines", s.charon_lines}});
  doc["codes"] = json::object();
  for (const auto& [name, cc] : c.codes)
    doc["codes"][name] = {{"peers", peers_json(cc.peers)}, {"attempts", cc.attempts}};
  doc["informational"] = json::object();
  for (const auto& [name, cc] : c.informational_codes)
    doc["informational"][name] = {{"peers", peers_json(cc.peers)}, {"attempts", cc.attempts}};
  doc["failures"] = json::array();
  for (const auto& r : c.failures) doc["failures"].push_back(record_json(r));
  doc["informational_records"] = json::array();
  for (const auto& r : c.informational) doc["informational_records"].push_back(record_json(r));
  doc["unclassified"] = c.unclassified.size();
  doc["attribution"] = json::object();
  for (const auto& id : rules_used(c))
    if (const auto* rule = rule_by_id(id))
      doc["attribution"][id] = {{"code", rule->code},
                                {"exact", rule->mapping == tx::Mapping::exact},
                                {"log_attribution", rule->log_attribution},
                                {"reason", rule->reason}};
  return doc;
}

std::string log_classification_table(const LogClassification& lc) {
  std::ostringstream out;
  for (const auto& s : lc.sources)
    out << s.path << ": " << s.charon_lines << " charon lines, read as the " << tx::to_string(s.side)
        << (s.side == tx::Side::responder ? " (SUT)" : " (peer)") << "'s log\n";
  const auto rows = rows_of(lc.result);
  if (rows.empty()) {
    out << "no failures found\n";
  } else {
    std::size_t w = 4;
    for (const auto& r : rows) w = std::max(w, r.code.size());
    out << "\n" << pad("code", w) << "  " << pad("value", 10) << "  " << pad("side", 9) << "  "
        << pad("mapping", 11) << "  " << pad("attempts", 8) << "  peers\n";
    bool info_header = false;
    for (const auto& r : rows) {
      if (r.informational && !info_header) {
        out << "informational:\n";
        info_header = true;
      }
      out << pad(r.code, w) << "  " << pad(std::to_string(r.value), 10) << "  " << pad(r.side, 9) << "  "
          << pad(r.exact ? "exact" : "approximate", 11) << "  " << pad(std::to_string(r.attempts), 8) << "  "
          << (r.unattributed ? std::string("?") : std::to_string(r.peers.size())) << "\n";
    }
    out << "\nwhat the log can attribute:\n";
    for (const auto& id : rules_used(lc.result))
      if (const auto* rule = rule_by_id(id))
        out << "  " << id << " (" << rule->code << "): " << rule->log_attribution << "\n";
  }
  if (!lc.result.unclassified.empty())
    out << lc.result.unclassified.size() << " observation(s) matched no rule\n";
  return out.str();
}

}  // namespace ist::charon
