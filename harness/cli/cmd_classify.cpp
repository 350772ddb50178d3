// ikestorm classify LOG... [--json] [--out DIR] [--side auto|responder|initiator]:
// the run's classification rules applied offline to charon logs a user already has
// (harness/charon/log_classify.hpp does the work).
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "charon/log_classify.hpp"
#include "cli/command.hpp"

namespace ist::cli {
namespace {

namespace tx = ist::taxonomy;

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
      "--out DIR writes DIR/report.json with codes, informational, failures[] (the run\n"
      "report's field names; t_ms counts from the earliest log line). Exit 0 when the logs\n"
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

  std::vector<charon::LogSource> sources;
  std::vector<tx::ObservedEvent> events;
  for (const auto& path : vm["log"].as<std::vector<std::string>>()) {
    auto src = charon::observe_log_file(path, forced, events);
    if (!src) return fail("classify", src.error().message, kExitUsage);
    if (src->incomplete_last_line)
      std::cerr << "ikestorm classify: " << path
                << ": warning: the last line has no line end (truncated?); it was left out\n";
    if (!src->side_detected)
      std::cerr << "ikestorm classify: " << path
                << ": warning: no line shows which side wrote it; taken as the responder (SUT)\n";
    sources.push_back(std::move(*src));
  }
  const auto c = charon::classify_observations(std::move(sources), std::move(events));
  const nlohmann::json doc = charon::log_classification_json(c);

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

  std::cout << charon::log_classification_table(c);
  return kExitOk;
}

CommandRegistrar reg({"classify", "decode charon logs into Windows IPsec error codes",
                      &classify_main, 40});

}  // namespace
}  // namespace ist::cli
