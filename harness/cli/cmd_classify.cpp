// ikestorm classify LOG... [--json] [--out DIR] [--side auto|responder|initiator]:
// the run's classification rules applied offline to charon logs a user already has.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "charon/log_parser.hpp"
#include "cli/command.hpp"
#include "taxonomy/classifier.hpp"
#include "taxonomy/from_charon_log.hpp"

namespace ist::cli {
namespace {

namespace tx = ist::taxonomy;
namespace ch = ist::charon;
using nlohmann::json;

struct Source {
  std::string path;
  tx::Side side = tx::Side::responder;
  bool side_detected = true;
  std::size_t lines = 0;
  std::size_t charon_lines = 0;
  bool incomplete_last_line = false;
};

// Reads one log and appends its observations. Returns an error text for input that is not
// a charon log at all.
std::optional<std::string> read_log(const std::string& path, std::optional<tx::Side> forced,
                                    Source& src, std::vector<tx::ObservedEvent>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return path + ": cannot open: " + std::strerror(errno);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  if (f.bad()) return path + ": read error";
  src.path = path;

  // charon writes whole lines: a last line without its newline was cut off (truncated copy,
  // or still being written). It is left out and reported.
  std::string_view body(text);
  if (!body.empty() && body.back() != '\n') {
    std::size_t nl = body.rfind('\n');
    body = nl == std::string_view::npos ? std::string_view() : body.substr(0, nl + 1);
    src.incomplete_last_line = true;
  }

  std::vector<ch::JoinedLogEvent> joined;
  ch::LogJoiner joiner;
  std::size_t responder_hints = 0, initiator_hints = 0;
  ch::for_each_log_line(body, [&](const ch::LogEvent& e) {
    ++src.lines;
    if (e.kind == ch::LogEventKind::ike_init_received || e.kind == ch::LogEventKind::ike_sa_limit_hit ||
        e.kind == ch::LogEventKind::half_open_limit || e.kind == ch::LogEventKind::cookie_sent)
      ++responder_hints;
    if (e.kind == ch::LogEventKind::ike_initiating) ++initiator_hints;
    joiner.feed(e, [&](const ch::JoinedLogEvent& j) { joined.push_back(j); });
  });
  joiner.finish([&](const ch::JoinedLogEvent& j) { joined.push_back(j); });
  src.charon_lines = joiner.charon_lines();
  if (src.charon_lines == 0) {
    std::string why = text.empty() ? "the file is empty"
                      : src.incomplete_last_line && src.lines == 0
                          ? "it holds no complete line (truncated?)"
                          : "none of its " + std::to_string(src.lines) + " lines is a charon log line";
    return path + ": not a charon log: " + why +
           " (expected filelog or syslog lines such as 'Nov 23 18:48:06.490 09[IKE] <rw|1> ...')";
  }
  if (forced) {
    src.side = *forced;
  } else {
    src.side = initiator_hints > responder_hints ? tx::Side::initiator : tx::Side::responder;
    src.side_detected = responder_hints + initiator_hints > 0;
  }
  // Unique ids and SPIs are per daemon: key attempts by file too, or two logs' "uid:1" merge.
  const std::string key_prefix = path + "#";
  for (const auto& j : joined)
    if (auto e = tx::observe_charon_log_event(j, src.side)) {
      if (!e->attempt.empty()) e->attempt = key_prefix + e->attempt;
      out.push_back(std::move(*e));
    }
  return std::nullopt;
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
  std::set<std::string> rules;
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
    row.rules.insert(r.rule);
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

int classify_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm classify LOG... [--json] [--out DIR] [--side auto|responder|initiator]",
      "Applies ikestorm's classification rules to strongSwan charon logs you already have\n"
      "(a gateway's filelog or syslog, or both sides of a test) and names the Windows IPsec\n"
      "error code of every failure found, with the evidence lines. Prints a table of codes\n"
      "with counts of attempts and, where the log lets peers be told apart, of peers ('?'\n"
      "when it cannot: e.g. charon's IKE_SA-limit line carries no address at level 1), then\n"
      "per code what the log alone can attribute.\n\n"
      "Each LOG is the log of one side: --side auto (default) takes a log with responder\n"
      "lines ('<ip> is initiating an IKE_SA', limit drops, cookies) as the SUT's (responder)\n"
      "and one that mostly initiates as a peer's (initiator). Best input: filelog with\n"
      "ike_name = yes, time_format = %b %e %T, time_add_ms = yes, default = 1 (mgr = 2 keys\n"
      "IKE_SA-limit drops by initiator SPI). Informational codes (DOS_COOKIE_SENT, deletes\n"
      "received) are listed apart from failures.\n\n"
      "--out DIR writes DIR/report.json with codes, informational, failures[] (a run's\n"
      "report field names; t_ms counts from the earliest log line). Exit 0 when the logs\n"
      "were read (failures found or not); 2 for bad arguments or a file with no charon log\n"
      "line (empty, garbage, truncated before its first complete line).",
      "  ikestorm classify /var/log/charon.log\n"
      "  ikestorm classify sut.log peer.log --out incident/\n"
      "  ikestorm classify --side initiator client.log --json"};
  po::options_description opts("options");
  opts.add_options()
      ("log", po::value<std::vector<std::string>>(), "charon log file(s)")
      ("json", "print the report document as JSON instead of the table")
      ("out", po::value<std::string>(), "write DIR/report.json")
      ("side", po::value<std::string>()->default_value("auto"),
       "whose logs these are: auto, responder (the SUT) or initiator (a peer)");
  po::positional_options_description pos;
  pos.add("log", -1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  if (!vm.count("log")) return fail("classify", "no LOG given (see --help)", kExitUsage);
  std::optional<tx::Side> forced;
  const std::string side = vm["side"].as<std::string>();
  if (side == "responder") forced = tx::Side::responder;
  else if (side == "initiator") forced = tx::Side::initiator;
  else if (side != "auto")
    return fail("classify", "--side must be auto, responder or initiator, not '" + side + "'",
                kExitUsage);

  std::vector<Source> sources;
  std::vector<tx::ObservedEvent> events;
  for (const auto& path : vm["log"].as<std::vector<std::string>>()) {
    Source src;
    if (auto err = read_log(path, forced, src, events)) return fail("classify", *err, kExitUsage);
    if (src.incomplete_last_line)
      std::cerr << "ikestorm classify: " << path
                << ": warning: the last line has no line end (truncated?); it was left out\n";
    if (!src.side_detected)
      std::cerr << "ikestorm classify: " << path
                << ": warning: no line shows which side wrote it; taken as the responder (SUT)\n";
    sources.push_back(std::move(src));
  }
  // t_ms from the earliest timestamped event (logs without timestamps give 0).
  int64_t t0 = -1;
  for (const auto& e : events)
    if (e.t_ms > 0 && (t0 < 0 || e.t_ms < t0)) t0 = e.t_ms;
  if (t0 > 0)
    for (auto& e : events) e.t_ms = e.t_ms > 0 ? e.t_ms - t0 : 0;

  const tx::Classification c = tx::Classifier().classify(events);

  json doc;
  doc["sources"] = json::array();
  for (const auto& s : sources)
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
  std::set<std::string> used_rules;
  for (const auto& r : c.failures) used_rules.insert(r.rule);
  for (const auto& r : c.informational) used_rules.insert(r.rule);
  for (const auto& id : used_rules)
    if (const auto* rule = rule_by_id(id))
      doc["attribution"][id] = {{"code", rule->code},
                                {"exact", rule->mapping == tx::Mapping::exact},
                                {"log_attribution", rule->log_attribution},
                                {"reason", rule->reason}};

  if (vm.count("out")) {
    std::filesystem::path dir = vm["out"].as<std::string>();
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return fail("classify", "cannot create " + dir.string() + ": " + ec.message(), kExitUsage);
    std::ofstream o(dir / "report.json");
    o << doc.dump(2) << "\n";
    if (!o) return fail("classify", "cannot write " + (dir / "report.json").string(), kExitHarnessFault);
  }
  if (vm.count("json")) {
    std::cout << doc.dump(2) << "\n";
    return kExitOk;
  }

  for (const auto& s : sources)
    std::cout << s.path << ": " << s.charon_lines << " charon lines, read as the "
              << tx::to_string(s.side) << (s.side == tx::Side::responder ? " (SUT)" : " (peer)")
              << "'s log\n";
  const auto rows = rows_of(c);
  if (rows.empty()) {
    std::cout << "no failures found\n";
  } else {
    std::size_t w = 4;
    for (const auto& r : rows) w = std::max(w, r.code.size());
    std::cout << "\n" << pad("code", w) << "  " << pad("value", 10) << "  " << pad("side", 9) << "  "
              << pad("mapping", 11) << "  " << pad("attempts", 8) << "  peers\n";
    bool info_header = false;
    for (const auto& r : rows) {
      if (r.informational && !info_header) {
        std::cout << "informational:\n";
        info_header = true;
      }
      std::cout << pad(r.code, w) << "  " << pad(std::to_string(r.value), 10) << "  "
                << pad(r.side, 9) << "  " << pad(r.exact ? "exact" : "approximate", 11) << "  "
                << pad(std::to_string(r.attempts), 8) << "  "
                << (r.unattributed ? std::string("?") : std::to_string(r.peers.size())) << "\n";
    }
    std::cout << "\nwhat the log can attribute:\n";
    for (const auto& id : used_rules)
      if (const auto* rule = rule_by_id(id))
        std::cout << "  " << id << " (" << rule->code << "): " << rule->log_attribution << "\n";
  }
  if (!c.unclassified.empty())
    std::cout << c.unclassified.size() << " observation(s) matched no rule\n";
  return kExitOk;
}

CommandRegistrar reg({"classify", "decode charon logs into Windows IPsec error codes",
                      &classify_main, 40});

}  // namespace
}  // namespace ist::cli
