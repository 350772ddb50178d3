// ikestorm report DIR [--out DIR2]: renders report.html and junit.xml from report.json.
#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "cli/report_codes.hpp"
#include "reports/output.hpp"

namespace ist::cli {
namespace {

int report_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm report DIR [--out DIR2]",
      "Renders DIR/report.html (one self-contained page with charts, opens offline) and\n"
      "DIR/junit.xml (one testcase per expectation per run, plus 'leaks' and 'harness') from\n"
      "DIR/report.json alone. DIR may also be the report.json file itself. With --out the\n"
      "two files go to DIR2 instead. `ikestorm run` writes them already; use this after\n"
      "editing or merging a report, or to re-render with a newer ikestorm.\n\n"
      "Exit codes: 0 written; 2 no readable report; 3 could not write.",
      "  ikestorm report ikestorm-out/smoke-20260101T020000Z\n"
      "  ikestorm report nightly/report.json --out /srv/www/nightly"};
  po::options_description opts("options");
  opts.add_options()
      ("dir", po::value<std::string>(), "report folder or report.json")
      ("out", po::value<std::string>(), "write report.html and junit.xml here instead");
  po::positional_options_description pos;
  pos.add("dir", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  if (!vm.count("dir")) return fail("report", "which report? usage: " + usage.synopsis, kExitUsage);

  auto loaded = reports::load_report(vm["dir"].as<std::string>());
  if (!loaded) return fail("report", loaded.error().describe(), kExitUsage);
  std::string out = vm.count("out") ? vm["out"].as<std::string>() : loaded->dir;
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) return fail("report", "creating " + out + ": " + ec.message(), kExitHarnessFault);
  if (auto w = reports::write_rendered(loaded->report, out, report_code_lookup()); !w)
    return fail("report", w.error().describe(), kExitHarnessFault);
  std::cout << out << "/" << reports::kReportHtml << "\n" << out << "/" << reports::kJunitXml << "\n";
  return kExitOk;
}

CommandRegistrar reg({"report", "render report.html and junit.xml from a report.json", &report_main, 20});

}  // namespace
}  // namespace ist::cli
