// ikestorm merge -o OUT DIR...: folds shard reports of one sweep, or the generator reports of
// one run (--generator I/N), into one report folder.
#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "cli/report_codes.hpp"
#include "reports/merge.hpp"
#include "reports/merge_generators.hpp"
#include "reports/output.hpp"
#include "scenario/expect.hpp"

namespace ist::cli {
namespace {

namespace fs = std::filesystem;

// Copies a run folder: directories, regular files and symlinks. Sockets and fifos (a
// daemon's vici socket left in its folder) are skipped: they mean nothing once copied.
std::error_code copy_run_folder(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return ec;
  for (auto it = fs::recursive_directory_iterator(from, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path target = to / fs::relative(it->path(), from, ec);
    if (ec) return ec;
    const auto st = it->symlink_status(ec);
    if (ec) return ec;
    if (fs::is_directory(st)) fs::create_directories(target, ec);
    else if (fs::is_symlink(st)) fs::copy_symlink(it->path(), target, ec);
    else if (fs::is_regular_file(st)) fs::copy_file(it->path(), target, fs::copy_options::overwrite_existing, ec);
    if (ec) return ec;
  }
  return ec;
}

// The scenario's expectations again, on the merged points: a generator's own verdict was on
// its block of the peers, the run's is on all of them. Each expression is re-read from the
// text the generators recorded ("established_ratio >= 0.99").
void judge_merged(reports::Report& merged) {
  for (auto& run : merged.runs) {
    std::vector<scenario::Expectation> again;
    std::vector<reports::Expectation> kept;  // not readable as "PATH OP NUMBER": as recorded
    for (const auto& e : run.expectations) {
      const auto space = e.expr.find(' ');
      auto cond = scenario::parse_condition(space == std::string::npos ? "" : e.expr.substr(space + 1));
      if (const auto* c = std::get_if<scenario::ParsedCondition>(&cond))
        again.push_back({e.expr.substr(0, space), c->op, c->threshold, c->threshold_text, {}});
      else
        kept.push_back(e);
    }
    const nlohmann::json run_json = reports::to_json(reports::Report{.runs = {run}})["runs"][0];
    run.expectations = std::move(kept);
    for (const auto& r : scenario::evaluate(again, run_json)) run.expectations.push_back({r.expr, r.ok, r.observed});
  }
}

int merge_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm merge -o OUT DIR... [--force]",
      "Merges the reports of shards of one sweep (`ikestorm run FILE --shard I/N`) into\n"
      "OUT/report.json, OUT/report.html and OUT/junit.xml, with runs[] in sweep-point\n"
      "order, and copies each shard's run folders (configs, logs) into OUT. Each DIR is a\n"
      "report folder or report.json. Refuses shards of different scenarios (after --set) or\n"
      "backends, and a point that two shards both hold. OUT must be empty or new unless\n"
      "--force.\n\n"
      "Given the reports of the generators of one run (`ikestorm run FILE --generator I/N`),\n"
      "it folds each point across them instead: counts and codes summed, latency percentiles\n"
      "from all samples, the timeseries summed per second, the gateway's own counts once,\n"
      "the expectations judged again on the whole, one row per generator in generators[];\n"
      "their run folders go to OUT/generator-I/. Refuses generator reports of different\n"
      "scenarios or start times, and a missing or doubled generator.\n\n"
      "Exit codes: 0 merged; 2 bad input or mismatched reports; 3 could not write.",
      "  ikestorm merge -o sweep shard-1 shard-2 shard-3\n"
      "  ikestorm merge -o run generator-1 generator-2"};
  po::options_description opts("options");
  std::vector<std::string> dirs;
  opts.add_options()
      ("out,o", po::value<std::string>(), "folder of the merged report")
      ("dirs", po::value<std::vector<std::string>>(&dirs)->composing(), "shard reports")
      ("force", "write into a non-empty OUT");
  po::positional_options_description pos;
  pos.add("dirs", -1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  if (!vm.count("out")) return fail("merge", "-o OUT is required: " + usage.synopsis, kExitUsage);
  if (dirs.empty()) return fail("merge", "no shard reports given: " + usage.synopsis, kExitUsage);
  const std::string out = vm["out"].as<std::string>();

  std::vector<reports::ShardInput> shards;
  std::vector<std::string> shard_dirs;
  for (const auto& d : dirs) {
    auto loaded = reports::load_report(d);
    if (!loaded) return fail("merge", loaded.error().describe(), kExitUsage);
    shards.push_back({std::move(loaded->report), d});
    shard_dirs.push_back(loaded->dir);
  }
  std::string command = "ikestorm merge";
  for (const auto& a : args) command += " " + a;
  auto generators = reports::are_generator_reports(shards);
  if (!generators) return fail("merge", generators.error().describe(), kExitUsage);
  auto merged = *generators ? reports::merge_generator_reports(shards, command) : reports::merge_reports(shards, command);
  if (!merged) return fail("merge", merged.error().describe(), kExitUsage);
  if (*generators) judge_merged(*merged);

  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec) && !vm.count("force"))
    return fail("merge", out + " exists and is not empty (use --force)", kExitUsage);
  fs::create_directories(out, ec);
  if (ec) return fail("merge", "creating " + out + ": " + ec.message(), kExitHarnessFault);
  // The run folders travel with the report: its `folder` fields stay valid.
  for (std::size_t i = 0; i < shards.size(); ++i) {
    // Generators all ran the same points: each one's folders under its own name.
    const fs::path to_dir = *generators ? fs::path(out) / ("generator-" + std::to_string(shards[i].report.generator->index))
                                        : fs::path(out);
    for (const auto& run : shards[i].report.runs) {
      const fs::path from = fs::path(shard_dirs[i]) / run.folder;
      if (run.folder.empty() || !fs::is_directory(from, ec)) continue;
      if (fs::weakly_canonical(from, ec) == fs::weakly_canonical(to_dir / run.folder, ec)) continue;
      ec = copy_run_folder(from, to_dir / run.folder);
      if (ec) return fail("merge", "copying " + from.string() + ": " + ec.message(), kExitHarnessFault);
    }
  }
  if (auto w = reports::write_all(*merged, out, report_code_lookup()); !w)
    return fail("merge", w.error().describe(), kExitHarnessFault);
  std::cout << "merged " << shards.size() << " report(s), " << merged->runs.size() << " run(s): ";
  for (std::size_t i = 0; i < merged->runs.size(); ++i) std::cout << (i ? ", " : "") << merged->runs[i].folder;
  std::cout << "\n" << out << "/" << reports::kReportJson << "\n";
  return kExitOk;
}

CommandRegistrar reg({"merge", "merge shard reports of one sweep, or the generators of one run, into one report",
                      &merge_main, 24});

}  // namespace
}  // namespace ist::cli
