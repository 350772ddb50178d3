#include "scenario/expect.hpp"

#include <algorithm>
#include <cctype>

#include "scenario/nearest.hpp"
#include "scenario/units.hpp"

namespace ist::scenario {
namespace {

bool is_code_name(std::string_view s) {
  return !s.empty() && s.size() <= 80 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
         });
}

// Follows a dotted path through JSON objects; nullptr when any step is missing.
const nlohmann::json* walk(const nlohmann::json& root, std::string_view path) {
  const nlohmann::json* cur = &root;
  while (!path.empty()) {
    const auto dot = path.find('.');
    const std::string key(path.substr(0, dot));
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return cur;
}

std::optional<nlohmann::json> observe(const Expectation& e, const nlohmann::json& run) {
  const nlohmann::json* v = nullptr;
  std::string_view path = e.path;
  if (path.rfind("codes.", 0) == 0) {
    std::string_view rest = path.substr(6);
    const auto dot = rest.find('.');
    const std::string name(rest.substr(0, dot));
    const std::string field = dot == std::string_view::npos ? "peers" : std::string(rest.substr(dot + 1));
    const nlohmann::json* codes = walk(run, "codes");
    if (codes == nullptr || !codes->is_object() || !codes->contains(name)) return nlohmann::json(0);
    v = walk((*codes)[name], field);
    if (v == nullptr) return nlohmann::json(0);
  } else {
    if (const nlohmann::json* summary = walk(run, "summary")) v = walk(*summary, path);
    if (v == nullptr && (path == "unclassified" || path == "leaks")) v = walk(run, path);
  }
  if (v == nullptr) return std::nullopt;
  if (v->is_number()) return *v;
  if (v->is_boolean()) return nlohmann::json(v->get<bool>() ? 1 : 0);
  // leaks may be reported as a list of leaked resources: count them.
  if (v->is_array()) return nlohmann::json(v->size());
  return std::nullopt;
}

}  // namespace

const char* to_string(CompareOp op) {
  switch (op) {
    case CompareOp::ge: return ">=";
    case CompareOp::gt: return ">";
    case CompareOp::le: return "<=";
    case CompareOp::lt: return "<";
    case CompareOp::eq: return "==";
    case CompareOp::ne: return "!=";
  }
  return "?";
}

std::string Expectation::expr() const {
  return path + " " + to_string(op) + " " + threshold_text;
}

bool Expectation::holds(double observed) const {
  switch (op) {
    case CompareOp::ge: return observed >= threshold;
    case CompareOp::gt: return observed > threshold;
    case CompareOp::le: return observed <= threshold;
    case CompareOp::lt: return observed < threshold;
    case CompareOp::eq: return observed == threshold;
    case CompareOp::ne: return observed != threshold;
  }
  return false;
}

std::variant<ParsedCondition, std::string> parse_condition(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  static constexpr std::pair<std::string_view, CompareOp> kOps[] = {
      {">=", CompareOp::ge}, {"<=", CompareOp::le}, {"==", CompareOp::eq},
      {"!=", CompareOp::ne}, {">", CompareOp::gt},  {"<", CompareOp::lt}};
  for (const auto& [sym, op] : kOps) {
    if (text.substr(0, sym.size()) != sym) continue;
    std::string_view num = text.substr(sym.size());
    while (!num.empty() && num.front() == ' ') num.remove_prefix(1);
    while (!num.empty() && num.back() == ' ') num.remove_suffix(1);
    if (num.empty()) return "missing the number after '" + std::string(sym) + "'";
    auto v = parse_number(num);
    if (auto* why = std::get_if<std::string>(&v)) {
      return "'" + std::string(num) + "' is " + *why + " (expected e.g. \">= 0.99\")";
    }
    return ParsedCondition{op, std::get<double>(v), std::string(num)};
  }
  if (text.substr(0, 1) == "=") return std::string("use '==' to compare for equality");
  return std::string("expected \"OP NUMBER\" with OP one of >= > <= < == != (e.g. \">= 0.99\")");
}

const std::vector<std::string>& summary_paths() {
  static const std::vector<std::string> paths = {
      "peers", "established", "established_ratio", "failed", "setup_rate_per_s",
      "setup_latency_ms.p50", "setup_latency_ms.p90", "setup_latency_ms.p99",
      "setup_latency_ms.max", "rekeys.ike", "rekeys.child", "renegotiations_per_min",
      "renegotiations_per_min_wall", "cpu_s.sut", "cpu_s.peers", "cpu_s.harness",
      "rss_mb.sut", "rss_mb.peers", "rss_mb.harness", "unclassified", "leaks",
      "unclassified_attempts", "harness_faults", "abandoned", "lost", "sut_survived",
      "rekeys_in_hold.ike", "rekeys_in_hold.child",
      // benchmarking metrics, see reports/timeline_metrics.hpp
      "tunnel_attempts_per_s", "rekeys_per_s.ike_peak", "rekeys_per_s.ike_mean", "rekeys_per_s.child_peak",
      "rekeys_per_s.child_mean", "peak_sas.ike_active", "peak_sas.ike_pending", "peak_sas.child_active",
      "peak_sas.child_pending", "sut_peak.half_open", "sut_peak.jobs_queued",
      // present only where they apply (traffic:, peers.flood); absent, a gate on them fails
      "time_to_first_packet_ms.p50", "time_to_first_packet_ms.p90", "time_to_first_packet_ms.p99",
      "time_to_first_packet_ms.max", "dos_resilience.setups_before", "dos_resilience.setups_during",
      "dos_resilience.setup_rate_before_per_s", "dos_resilience.setup_rate_during_per_s", "dos_resilience.ratio",
      // data plane (scenario traffic:), see reports::DataSummary
      "data.sent", "data.received_by_sut", "data.echoed", "data.received", "data.dropped", "data.not_sent",
      "data.lost", "data.agree"};
  return paths;
}

std::optional<std::string> check_expect_path(std::string_view path,
                                             const std::vector<std::string>& known_codes) {
  if (path.rfind("codes.", 0) == 0) {
    std::string_view rest = path.substr(6);
    const auto dot = rest.find('.');
    const std::string_view name = rest.substr(0, dot);
    if (!is_code_name(name)) {
      return "'" + std::string(name) +
             "' is not a code name (codes.NAME takes names such as ERROR_IPSEC_IKE_MM_LIMIT)";
    }
    if (!known_codes.empty() &&
        std::find(known_codes.begin(), known_codes.end(), name) == known_codes.end()) {
      return "'" + std::string(name) + "' is not a known code" + did_you_mean(name, known_codes) +
             " (ikestorm codes lists them)";
    }
    if (dot != std::string_view::npos) {
      const std::string_view field = rest.substr(dot + 1);
      if (field != "peers" && field != "attempts") {
        return "codes.NAME." + std::string(field) + " is not reported; use codes.NAME (peers) or codes.NAME.attempts";
      }
    }
    return std::nullopt;
  }
  const auto& paths = summary_paths();
  if (std::find(paths.begin(), paths.end(), path) != paths.end()) return std::nullopt;
  return "unknown expectation '" + std::string(path) + "'" + did_you_mean_path(path, paths) +
         " (expect takes summary paths such as established_ratio, setup_latency_ms.p99, or codes.NAME)";
}

Expectation implied_expectation() {
  return Expectation{"established_ratio", CompareOp::ge, 1.0, "1",
                     Origin{"<implied: no expect block>", 0, 0}};
}

std::vector<Expectation> with_implied_survival(std::vector<Expectation> expectations) {
  for (const auto& e : expectations)
    if (e.path == "sut_survived") return expectations;
  expectations.push_back(Expectation{"sut_survived", CompareOp::eq, 1.0, "1", Origin{"<implied: the SUT must survive>", 0, 0}});
  return expectations;
}

std::vector<ExpectationResult> evaluate(const std::vector<Expectation>& expectations,
                                        const nlohmann::json& run) {
  std::vector<ExpectationResult> out;
  out.reserve(expectations.size());
  for (const auto& e : expectations) {
    ExpectationResult r{e.expr(), false, nullptr};
    if (auto v = observe(e, run)) {
      r.ok = e.holds(v->get<double>());
      r.observed = std::move(*v);
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace ist::scenario
