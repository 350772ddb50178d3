// ikestorm compare A B [--html FILE] [--fail-on EXPR ...] [--json]: two reports side by side;
// the nightly gate against a stored baseline.
#include <iostream>

#include "cli/command.hpp"
#include "reports/compare.hpp"
#include "reports/fail_on.hpp"
#include "reports/output.hpp"

namespace ist::cli {
namespace {

int compare_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm compare A B [--html FILE] [--fail-on EXPR ...] [--json]",
      "Compares report B against report A (the baseline). A and B are report.json files,\n"
      "report folders, or one run's folder inside a report folder (DIR/run-2). Runs are\n"
      "paired by their sweep parameters. For every summary metric and every Windows code it\n"
      "prints A, B, the change and a significance test: the median latency with the\n"
      "Mann-Whitney U test, p90/p99 with Mood's quantile test (Fisher's exact test of the\n"
      "values above the pooled quantile; the maximum is one value and gets none),\n"
      "proportions (established, failed, codes) with a two-proportion\n"
      "test and Wilson intervals, rates (setup rate, renegotiations) with an exact Poisson\n"
      "rate test and intervals. A change is significant only when p < 0.01 and it is larger\n"
      "than 5% (for latencies also at least 1 ms: smaller shifts are the host's scheduling\n"
      "noise between two runs, which the per-peer tests cannot see).\n\n"
      "--fail-on 'METRIC OP CHANGE' is a gate, e.g. 'setup_rate_per_s < -10%':\n"
      "  METRIC  a summary path (setup_rate_per_s, setup_latency_ms.p99, rekeys.child,\n"
      "          cpu_s.sut, ...), codes.NAME (peers with that code) or codes.NAME.attempts\n"
      "  OP      < <= > >= == !=\n"
      "  CHANGE  N% = relative change of B against A in percent (100*(B-A)/|A|; from A = 0\n"
      "          any rise is +inf%); a plain N = absolute change B - A\n"
      "It trips when it holds for any pair of runs, whatever the significance.\n\n"
      "Exit codes: 0 no --fail-on tripped; 1 a --fail-on tripped; 2 bad input (unreadable\n"
      "report, bad --fail-on, no runs to pair).",
      "  ikestorm compare baseline/report.json tonight/ --fail-on 'setup_rate_per_s < -10%' \\\n"
      "      --fail-on 'codes.ERROR_IPSEC_IKE_MM_LIMIT > 0' --fail-on 'setup_latency_ms.p99 > +20%'\n"
      "  ikestorm compare sweep/run-1 sweep/run-2 --html diff.html"};
  po::options_description opts("options");
  std::vector<std::string> fail_on_texts;
  opts.add_options()
      ("a", po::value<std::string>(), "baseline report")
      ("b", po::value<std::string>(), "report to judge")
      ("html", po::value<std::string>(), "also write the comparison as a self-contained HTML page")
      ("fail-on", po::value<std::vector<std::string>>(&fail_on_texts)->composing(),
       "METRIC OP CHANGE threshold (repeatable); exit 1 when one trips")
      ("json", "print the comparison as JSON instead of a table");
  po::positional_options_description pos;
  pos.add("a", 1).add("b", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  if (!vm.count("a") || !vm.count("b")) return fail("compare", "needs two reports: " + usage.synopsis, kExitUsage);

  std::vector<reports::FailOn> rules;
  for (const auto& t : fail_on_texts) {
    auto r = reports::parse_fail_on(t);
    if (!r) return fail("compare", r.error().describe(), kExitUsage);
    rules.push_back(*r);
  }
  auto a = reports::load_report(vm["a"].as<std::string>());
  if (!a) return fail("compare", a.error().describe(), kExitUsage);
  auto b = reports::load_report(vm["b"].as<std::string>());
  if (!b) return fail("compare", b.error().describe(), kExitUsage);

  const auto comparison = reports::compare(a->report, b->report);
  if (comparison.pairs.empty())
    return fail("compare", "no runs to pair: A and B have no sweep point in common", kExitUsage);

  int rc = kExitOk;
  std::vector<std::pair<std::string, bool>> results;
  nlohmann::json fail_on_json = nlohmann::json::array();
  std::string gate_text;
  for (const auto& rule : rules) {
    auto outcome = reports::evaluate_fail_on(rule, comparison);
    results.emplace_back(rule.text, outcome.tripped);
    fail_on_json.push_back({{"expr", rule.text}, {"tripped", outcome.tripped}, {"reasons", outcome.reasons}});
    if (outcome.tripped) rc = kExitExpectationFailed;
    gate_text += std::string("--fail-on '") + rule.text + "': " + (outcome.tripped ? "TRIPPED" : "held") + "\n";
    for (const auto& why : outcome.reasons) gate_text += "  " + why + "\n";
  }
  if (vm.count("json")) {
    auto j = reports::to_json(comparison);
    j["fail_on"] = fail_on_json;
    std::cout << j.dump(2) << "\n";
  } else {
    std::cout << reports::render_compare_text(comparison, a->report, b->report);
    if (!gate_text.empty()) std::cout << "\n" << gate_text;
  }
  if (vm.count("html")) {
    const auto path = vm["html"].as<std::string>();
    if (auto w = write_file_atomic(path, reports::render_compare_html(comparison, a->report, b->report, results));
        !w)
      return fail("compare", w.error().describe(), kExitHarnessFault);
    if (!vm.count("json")) std::cout << "comparison page: " << path << "\n";
  }
  return rc;
}

CommandRegistrar reg({"compare", "compare two reports: deltas, significance, --fail-on gates", &compare_main, 22});

}  // namespace
}  // namespace ist::cli
