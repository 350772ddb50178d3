// ikestorm clean [--dry-run] [--force] [--run ID]: removes what killed runs left behind.
#include <iostream>

#include "cli/command.hpp"
#include "common/cleanup.hpp"
#include "common/log.hpp"
#include "common/run_state.hpp"

namespace ist::cli {
namespace {

int clean_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm clean [--dry-run] [--force] [--run ID]",
      "Removes what ikestorm runs left behind when they were killed: for every run whose\n"
      "owner process is dead it stops the recorded charon/qemu processes (only if pid and\n"
      "start time still match), unmounts recorded mounts, deletes the run's ist-<ID>-*\n"
      "namespaces and recorded links and folders, then its state folder in\n"
      "/run/ikestorm/<ID>/. ist-* namespaces without a live run are removed too. Processes\n"
      "that are not ours but sit in one of those namespaces are reported, never killed.\n"
      "Prints one line per resource. Exits 0 when everything could be removed, 3 otherwise.",
      "  ikestorm clean --dry-run\n  ikestorm clean --run 3fa9c1"};
  po::options_description opts("options");
  opts.add_options()
      ("dry-run,n", "print what would be removed; change nothing")
      ("force", "also clean runs whose owner is still alive")
      ("run", po::value<std::string>(), "only this run id (6 hex digits)");
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, {}, vm)) return *rc;

  cleanup::Options o;
  o.dry_run = vm.count("dry-run") > 0;
  o.force = vm.count("force") > 0;
  if (vm.count("run")) {
    o.run_id = vm["run"].as<std::string>();
    if (!is_valid_run_id(o.run_id))
      return fail("clean", "--run takes a run id of 6 hex digits, not '" + o.run_id + "'", kExitUsage);
  }
  auto summary = cleanup::clean(o, [](const cleanup::Action& a) {
    if (a.outcome == cleanup::Outcome::already_gone) {
      log::debug(a.describe());
      return;
    }
    std::cout << a.describe() << std::endl;
  });
  using cleanup::Outcome;
  int touched = summary.count(o.dry_run ? Outcome::would_remove : Outcome::removed);
  if (summary.actions.empty() || (touched == 0 && summary.ok() && summary.count(Outcome::left_alone) == 0))
    std::cout << "nothing to clean\n";
  if (!summary.ok()) {
    std::cerr << "ikestorm clean: " << summary.count(Outcome::failed)
              << " resource(s) could not be removed\n";
    return kExitHarnessFault;
  }
  return kExitOk;
}

CommandRegistrar reg({"clean", "remove namespaces, processes and state that killed runs left behind",
                      &clean_main, 80});

}  // namespace
}  // namespace ist::cli
