// ikestorm codes [QUERY] [--json] [--kind win32|ntstatus] [--coverage]: the Windows IPsec
// code table, and with --coverage which rules and shipped scenarios produce each code.
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "taxonomy/codes.hpp"
#include "taxonomy/coverage.hpp"
#include "taxonomy/rules.hpp"

namespace ist::cli {
namespace {

std::string join(const std::vector<std::string_view>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// Coverage of the found codes: reproduced (a shipped scenario), rule only, or not producible.
int print_coverage(const std::vector<const taxonomy::Code*>& found, bool json) {
  const auto rules = taxonomy::rules();
  std::map<std::string_view, const taxonomy::CodeCoverage*> by_code;
  for (const auto& c : taxonomy::coverage()) by_code[c.code] = &c;
  auto arr = nlohmann::json::array();
  std::size_t reproduced = 0, rule_only = 0;
  for (const auto* code : found) {
    const auto* cov = by_code.count(code->name) ? by_code.at(code->name) : nullptr;
    const auto rule_ids = taxonomy::rules_for_code(rules, code->name);
    const auto scenarios = cov ? taxonomy::coverage_scenarios(*cov) : std::vector<std::string_view>{};
    const std::string status = !scenarios.empty() ? "reproduced" : !rule_ids.empty() ? "rule-only" : "not-producible";
    if (status == "reproduced") ++reproduced;
    if (status == "rule-only") ++rule_only;
    const std::string why = cov ? std::string(cov->why_not) : "no coverage entry";
    if (json) {
      auto r = nlohmann::json::array(), sc = nlohmann::json::array();
      for (auto id : rule_ids) r.push_back(std::string(id));
      for (auto p : scenarios) sc.push_back(std::string(p));
      arr.push_back({{"name", code->name}, {"value", code->value}, {"hex", code->hex}, {"status", status},
                     {"rules", r}, {"scenarios", sc}, {"why_not", why}});
      continue;
    }
    std::cout << code->name << " (" << code->value << ", " << code->hex << "): " << status << "\n";
    if (!rule_ids.empty()) std::cout << "  rules:     " << join(rule_ids, ", ") << "\n";
    if (!scenarios.empty()) std::cout << "  scenarios: " << join(scenarios, ", ") << "\n";
    if (!why.empty()) std::cout << "  why not:   " << why << "\n";
  }
  if (json) {
    std::cout << arr.dump(2) << "\n";
  } else {
    std::cout << "\n" << found.size() << " codes: " << reproduced << " reproduced by a shipped scenario, " << rule_only
              << " with a rule but no scenario here, " << (found.size() - reproduced - rule_only)
              << " without a rule (strongSwan/XFRM cannot produce them here; see why not)\n";
  }
  return kExitOk;
}

int codes_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm codes [QUERY] [--json] [--kind win32|ntstatus]",
      "Looks up the Windows IPsec error codes that ikestorm classifies failures into\n"
      "(win32 ERROR_IPSEC_* and NTSTATUS STATUS_IPSEC_*). QUERY is a decimal value\n"
      "(13882), a hex value (0x363A, 0xC000A010), an exact name or a name fragment\n"
      "(QUEUE_DROP, case-insensitive). Without QUERY every code is listed. Prints name,\n"
      "kind, decimal, hex and the documented text. Exits 1 when nothing matches.\n"
      "--coverage prints, per code, the classification rules that produce it, the shipped\n"
      "scenarios that reproduce it, or why strongSwan/XFRM here cannot.",
      "  ikestorm codes 0x363A\n  ikestorm codes QUEUE_DROP\n  ikestorm codes --kind ntstatus --json\n"
      "  ikestorm codes --coverage\n  ikestorm codes MM_LIMIT --coverage --json"};
  po::options_description opts("options");
  opts.add_options()
      ("query", po::value<std::string>(), "value, name or name fragment")
      ("json", "print a JSON array of {name, kind, value, hex, description}")
      ("kind", po::value<std::string>(), "only codes of this kind: win32 or ntstatus")
      ("coverage", "per code: rules, shipped scenarios that reproduce it, or why not");
  po::positional_options_description pos;
  pos.add("query", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  const std::string query = vm.count("query") ? vm["query"].as<std::string>() : "";
  const std::string kind = vm.count("kind") ? vm["kind"].as<std::string>() : "";
  if (!kind.empty() && kind != "win32" && kind != "ntstatus")
    return fail("codes", "--kind must be win32 or ntstatus, not '" + kind + "'", kExitUsage);

  const auto& table = taxonomy::CodeTable::instance();
  std::vector<const taxonomy::Code*> found;
  if (query.empty()) {
    for (const auto& c : table.all()) found.push_back(&c);
  } else {
    found = table.lookup(query);
  }
  std::erase_if(found, [&](const taxonomy::Code* c) { return !kind.empty() && c->kind != kind; });

  if (vm.count("coverage")) {
    if (found.empty()) {
      std::string what = query.empty() ? "of kind " + kind : "'" + query + "'";
      return fail("codes", "no such code " + what, kExitExpectationFailed);
    }
    return print_coverage(found, vm.count("json") > 0);
  }

  if (vm.count("json")) {
    auto arr = nlohmann::json::array();
    for (const auto* c : found)
      arr.push_back({{"name", c->name}, {"kind", c->kind}, {"value", c->value},
                     {"hex", c->hex}, {"description", c->description}});
    std::cout << arr.dump(2) << "\n";
  }
  if (found.empty()) {
    std::string what = query.empty() ? "of kind " + kind : "'" + query + "'";
    return fail("codes", "no such code " + what, kExitExpectationFailed);
  }
  if (vm.count("json")) return kExitOk;

  std::size_t name_w = 4;
  for (const auto* c : found) name_w = std::max(name_w, c->name.size());
  auto pad = [](std::string s, std::size_t w) {
    s.resize(std::max(s.size(), w), ' ');
    return s;
  };
  std::cout << pad("name", name_w) << "  " << pad("kind", 8) << "  " << pad("decimal", 10)
            << "  " << pad("hex", 10) << "  description\n";
  for (const auto* c : found)
    std::cout << pad(c->name, name_w) << "  " << pad(c->kind, 8) << "  "
              << pad(std::to_string(c->value), 10) << "  " << pad(c->hex, 10) << "  "
              << c->description << "\n";
  return kExitOk;
}

CommandRegistrar reg({"codes", "look up Windows IPsec error codes (name, decimal or hex)",
                      &codes_main, 60});

}  // namespace
}  // namespace ist::cli
