#include "reports/fail_on.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace ist::reports {

namespace {

bool metric_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

bool holds(double v, const std::string& op, double threshold) {
  if (op == "<") return v < threshold;
  if (op == "<=") return v <= threshold;
  if (op == ">") return v > threshold;
  if (op == ">=") return v >= threshold;
  if (op == "==") return v == threshold;
  return v != threshold;  // "!="
}

std::string fmt(double v) {
  if (std::isinf(v)) return v > 0 ? "+inf" : "-inf";
  char b[64];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

}  // namespace

Result<FailOn> parse_fail_on(std::string_view text) {
  FailOn r;
  r.text = std::string(text);
  const std::string where = "--fail-on '" + r.text + "': ";
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  };
  skip_space();
  // A metric may contain '-' only inside (code names never start with it).
  while (i < text.size() && metric_char(text[i]) && !(text[i] == '-' && r.metric.empty())) r.metric += text[i++];
  if (r.metric.empty()) return Error(where + "expected METRIC OP CHANGE, e.g. 'setup_rate_per_s < -10%'");
  if (!known_metric(r.metric))
    return Error(where + "unknown metric '" + r.metric +
                 "' (use a summary path such as setup_rate_per_s or setup_latency_ms.p99, or codes.NAME)");
  skip_space();
  for (const char* op : {"<=", ">=", "==", "!=", "<", ">"}) {
    if (text.substr(i, std::string_view(op).size()) == op) {
      r.op = op;
      i += r.op.size();
      break;
    }
  }
  if (r.op.empty()) return Error(where + "expected an operator (< <= > >= == !=) after '" + r.metric + "'");
  skip_space();
  std::string rest(text.substr(i));
  while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.back()))) rest.pop_back();
  if (!rest.empty() && rest.back() == '%') {
    r.percent = true;
    rest.pop_back();
  }
  if (rest.empty() || !(std::isdigit(static_cast<unsigned char>(rest[0])) || rest[0] == '+' || rest[0] == '-' ||
                        rest[0] == '.'))
    return Error(where + "expected a number or a percentage after '" + r.op + "', e.g. -10% or 5");
  char* end = nullptr;
  r.change = std::strtod(rest.c_str(), &end);
  if (end == rest.c_str() || *end != '\0' || !std::isfinite(r.change))
    return Error(where + "'" + rest + (r.percent ? "%" : "") + "' is not a number");
  return r;
}

FailOnOutcome evaluate_fail_on(const FailOn& rule, const Comparison& c) {
  FailOnOutcome out;
  for (const auto& p : c.pairs) {
    // A code neither side saw is zero on both sides.
    MetricDelta m;
    m.metric = rule.metric;
    m.relative = 0.0;
    for (const auto& cand : p.metrics)
      if (cand.metric == rule.metric) m = cand;
    double value = m.delta;
    if (rule.percent)
      value = m.relative ? *m.relative * 100
                         : (m.delta > 0 ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity());
    if (holds(value, rule.op, rule.change)) {
      out.tripped = true;
      out.reasons.push_back((p.key.empty() ? std::string("run") : p.key) + ": " + rule.metric + " " + fmt(m.a) +
                            " -> " + fmt(m.b) + " (change " + fmt(value) + (rule.percent ? "%" : "") + ") " +
                            rule.op + " " + fmt(rule.change) + (rule.percent ? "%" : ""));
    }
  }
  return out;
}

}  // namespace ist::reports
