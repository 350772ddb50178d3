// ikestorm merge -o OUT DIR...: folds shard reports of one sweep into one report folder.
#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "cli/report_codes.hpp"
#include "reports/merge.hpp"
#include "reports/output.hpp"

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

int merge_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm merge -o OUT DIR... [--force]",
      "Merges the reports of shards of one sweep (`ikestorm run FILE --shard I/N`) into\n"
      "OUT/report.json, OUT/report.html and OUT/junit.xml, with runs[] in sweep-point\n"
      "order, and copies each shard's run folders (configs, logs) into OUT. Each DIR is a\n"
      "report folder or report.json. Refuses shards of different scenarios (after --set) or\n"
      "backends, and a point that two shards both hold. OUT must be empty or new unless\n"
      "--force.\n\n"
      "Exit codes: 0 merged; 2 bad input or mismatched shards; 3 could not write.",
      "  ikestorm merge -o sweep shard-1 shard-2 shard-3"};
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
  auto merged = reports::merge_reports(shards, command);
  if (!merged) return fail("merge", merged.error().describe(), kExitUsage);

  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_empty(out, ec) && !vm.count("force"))
    return fail("merge", out + " exists and is not empty (use --force)", kExitUsage);
  fs::create_directories(out, ec);
  if (ec) return fail("merge", "creating " + out + ": " + ec.message(), kExitHarnessFault);
  // The run folders travel with the report: its `folder` fields stay valid.
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (const auto& run : shards[i].report.runs) {
      const fs::path from = fs::path(shard_dirs[i]) / run.folder;
      if (run.folder.empty() || !fs::is_directory(from, ec)) continue;
      if (fs::weakly_canonical(from, ec) == fs::weakly_canonical(fs::path(out) / run.folder, ec)) continue;
      ec = copy_run_folder(from, fs::path(out) / run.folder);
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

CommandRegistrar reg({"merge", "merge shard reports of one sweep into one report", &merge_main, 24});

}  // namespace
}  // namespace ist::cli
