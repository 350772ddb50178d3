#include "reports/junit.hpp"

#include <sstream>

#include "reports/escape.hpp"
#include "reports/html.hpp"
#include "reports/json_util.hpp"

namespace ist::reports {

namespace {

std::string x(std::string_view s) { return xml_escape(s); }

std::string observed_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

struct Case {
  std::string name;
  std::string failure_message;  // non-empty: <failure>
  std::string failure_text;
  std::string error_message;    // non-empty: <error>
};

}  // namespace

std::string junit_classname(const Report& report, const RunReport& run) {
  std::string name = str_field(report.scenario, "name");
  if (name.empty()) name = "ikestorm";
  std::string cls = name + "." + (run.folder.empty() ? "run" : run.folder);
  std::string p = parameters_text(run.parameters);
  if (!p.empty()) cls += "[" + p + "]";
  return cls;
}

std::string render_junit(const Report& r) {
  std::ostringstream body;
  std::size_t all_tests = 0, all_failures = 0, all_errors = 0;
  for (const auto& run : r.runs) {
    std::vector<Case> cases;
    for (const auto& e : run.expectations) {
      Case c{e.expr, "", "", ""};
      if (!e.ok) {
        c.failure_message = "expected " + e.expr + ", observed " + observed_text(e.observed);
        c.failure_text = "expected: " + e.expr + "\nobserved: " + observed_text(e.observed) + "\n";
      }
      cases.push_back(std::move(c));
    }
    Case leaks{"leaks", "", "", ""};
    if (run.summary.leaks) {
      leaks.failure_message = "expected leaks == 0, observed " + std::to_string(run.summary.leaks);
      leaks.failure_text = "the run left " + std::to_string(run.summary.leaks) +
                           " resource(s) behind; remove them with: ikestorm clean\n";
    }
    cases.push_back(std::move(leaks));
    Case harness{"harness", "", "", ""};
    // Interrupted or faulted: the harness could not measure (an error, not a SUT failure).
    // Any other incomplete outcome (the SUT died) is a failure of the system under test.
    if (run.outcome == "interrupted" || run.outcome == "harness-fault") {
      harness.error_message = "run outcome: " + run.outcome;
    } else if (run.outcome != "complete") {
      harness.failure_message = "run outcome: " + run.outcome;
      harness.failure_text = "run outcome: " + run.outcome + "\n";
    }
    cases.push_back(std::move(harness));

    std::size_t failures = 0, errors = 0;
    for (const auto& c : cases) {
      failures += !c.failure_message.empty();
      errors += !c.error_message.empty();
    }
    all_tests += cases.size();
    all_failures += failures;
    all_errors += errors;
    const std::string cls = junit_classname(r, run);
    body << "  <testsuite name=\"" << x(cls) << "\" tests=\"" << cases.size() << "\" failures=\"" << failures
         << "\" errors=\"" << errors << "\" skipped=\"0\" time=\"" << run.summary.wall_s << "\" timestamp=\""
         << x(r.started_at) << "\">\n    <properties>\n"
         << "      <property name=\"run_id\" value=\"" << x(r.run_id) << "\"/>\n"
         << "      <property name=\"backend\" value=\"" << x(r.backend) << "\"/>\n"
         << "      <property name=\"real_xfrm\" value=\"" << (r.real_xfrm ? "true" : "false") << "\"/>\n";
    if (run.parameters.is_object())
      for (auto& [k, v] : run.parameters.items())
        body << "      <property name=\"" << x(k) << "\" value=\"" << x(observed_text(v)) << "\"/>\n";
    body << "    </properties>\n";
    for (const auto& c : cases) {
      body << "    <testcase classname=\"" << x(cls) << "\" name=\"" << x(c.name) << "\" time=\"0\"";
      if (c.failure_message.empty() && c.error_message.empty()) {
        body << "/>\n";
        continue;
      }
      body << ">\n";
      if (!c.failure_message.empty())
        body << "      <failure type=\"" << (c.name == "leaks" ? "leak" : c.name == "harness" ? "outcome" : "expectation") << "\" message=\""
             << x(c.failure_message) << "\">" << x(c.failure_text) << "</failure>\n";
      if (!c.error_message.empty())
        body << "      <error type=\"harness\" message=\"" << x(c.error_message) << "\">" << x(c.error_message)
             << "</error>\n";
      body << "    </testcase>\n";
    }
    if (!run.notes.empty()) {
      body << "    <system-out>";
      for (const auto& n : run.notes) body << x(n) << "\n";
      body << "</system-out>\n";
    }
    body << "  </testsuite>\n";
  }
  std::string name = str_field(r.scenario, "name");
  if (name.empty()) name = "ikestorm";
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ikestorm " << x(name) << "\" tests=\""
    << all_tests << "\" failures=\"" << all_failures << "\" errors=\"" << all_errors << "\">\n"
    << body.str() << "</testsuites>\n";
  return o.str();
}

}  // namespace ist::reports
