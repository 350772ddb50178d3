// ikestorm search FILE --vary KEY --from A --to B: the highest value of one scenario key at
// which every expectation holds (a capacity search), each trial a full run of its own.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/command.hpp"
#include "cli/run_exec.hpp"
#include "cli/version.hpp"
#include "common/clock.hpp"
#include "common/file_write.hpp"
#include "common/log.hpp"
#include "common/signals.hpp"
#include "reports/escape.hpp"
#include "reports/number_text.hpp"
#include "reports/search_html.hpp"
#include "run/output_dir.hpp"
#include "scenario/load.hpp"
#include "scenario/paths.hpp"
#include "scenario/units.hpp"
#include "search/axis.hpp"
#include "search/capacity_search.hpp"
#include "taxonomy/codes.hpp"

namespace ist::cli {
namespace {

const Usage kUsage{
    "ikestorm search FILE --vary KEY --from A --to B [--resolution R] [--trials K] [--max-time T] "
    "[--out DIR] [--force] [--set KEY=VALUE ...]",
    "Finds the highest value of one numeric scenario key at which every expectation of the\n"
    "scenario holds: how much the gateway takes while still meeting its targets. KEY is a\n"
    "dotted key (peers.count, peers.arrival.rate, sut.charon.threads, peers.child.rekey_time,\n"
    "...); A, B and R are written in the key's own units (300, 200/s, 5m).\n\n"
    "It runs --from first, then doubles the distance from --from while trials pass (from,\n"
    "2 from, 4 from, ... up to --to), then bisects between the highest pass and the lowest\n"
    "fail until they are R apart. A value passes only when K trials in a row pass. Each trial\n"
    "is a full run with its own report folder (DIR/trial-01, ...). DIR/search.json holds the\n"
    "frontier and every trial, written after each trial; DIR/junit.xml has one testcase per\n"
    "trial. Ctrl-C stops after tearing the current trial down and keeps what is known.\n"
    "Needs root, like `run`.\n\n"
    "Exit codes: 0 a passing value was found; 1 even --from fails; 2 bad scenario or\n"
    "arguments; 3 harness fault or interrupted; 4 a trial left resources behind.",
    "  # how many tunnels before the gateway refuses (its limit is 300: finds 300 in 10 trials)\n"
    "  ikestorm search scenarios/search-ikesa-limit.yaml --vary peers.count --from 100 --to 1000\n"
    "  # the highest arrival rate that keeps p99 setup latency under the file's bound, to 25/s\n"
    "  ikestorm search my.yaml --vary peers.arrival.rate --from 100/s --to 2000/s --resolution 25/s --trials 2\n"
    "  # at most 30 minutes of trials, into a folder of your choice\n"
    "  ikestorm search my.yaml --vary peers.count --from 500 --to 20000 --resolution 100 --max-time 30m --out /tmp/s"};

constexpr std::size_t kMaxTrialsPerValue = 20;

std::string fmt(double v, int prec = 1) { return reports::format_fixed(v, prec); }

struct Request {
  std::string file, key;
  search::Axis axis;
  std::size_t trials = 1;
  double max_time_s = 0;
  std::vector<scenario::Override> sets;
};

// The value a trial runs at, as the user would --set it; messages name it "--vary KEY".
scenario::Override vary_override(const Request& rq, double value) {
  return {rq.key, search::format_value(rq.axis, value), "--vary " + rq.key};
}

std::vector<std::string> known_codes() {
  std::vector<std::string> names;
  for (const auto& c : taxonomy::CodeTable::instance().all()) names.push_back(c.name);
  return names;
}

scenario::LoadOutcome load_at(const Request& rq, std::optional<double> value) {
  auto overrides = rq.sets;
  if (value) overrides.push_back(vary_override(rq, *value));
  return scenario::load_file(rq.file, overrides, known_codes());
}

// The key as the file (after --set) has it: a section or a word is no axis.
std::optional<std::string> why_not_numeric(const Request& rq, const nlohmann::json& document) {
  const nlohmann::json* at = &document;
  for (const auto& part : scenario::split_path(rq.key)) {
    if (at->is_object() && at->contains(part)) {
      at = &(*at)[part];
    } else if (at->is_array()) {
      return "--vary " + rq.key + ": the search varies one value, not an entry of a list";
    } else {
      return std::nullopt;  // not in the file: the validator judges the key and the values
    }
  }
  if (at->is_object() || at->is_array()) {
    std::string hint;
    if (at->is_object() && at->size() == 1) hint = "; did you mean " + rq.key + "." + at->begin().key() + "?";
    return "--vary " + rq.key + ": is a section in " + rq.file + ", not a number" + hint;
  }
  if (at->is_string()) {
    const std::string text = at->get<std::string>();
    bool reads = false;
    switch (rq.axis.unit) {
      case search::Unit::duration: reads = scenario::parse_duration(text).index() == 0; break;
      case search::Unit::rate: reads = scenario::parse_rate(text).index() == 0; break;
      case search::Unit::number: reads = scenario::parse_number(text).index() == 0; break;
    }
    if (!reads)
      return "--vary " + rq.key + ": " + rq.file + " has '" + text + "' there, not a " +
             std::string(search::unit_name(rq.axis.unit)) + " like --from " +
             search::format_value(rq.axis, rq.axis.from);
  }
  if (at->is_boolean()) return "--vary " + rq.key + ": is a yes/no setting, not a number";
  return std::nullopt;
}

// Reads and checks everything the user gave; exit 2 with a clear message when it is wrong.
std::variant<Request, int> read_request(const po::variables_map& vm, const std::vector<std::string>& sets) {
  Request rq;
  auto usage = [](const std::string& m) { return fail("search", m, kExitUsage); };
  for (const char* need : {"file", "vary", "from", "to"})
    if (!vm.count(need))
      return usage(std::string(need) == "file" ? "needs a scenario FILE (see ikestorm search --help)"
                                               : std::string("needs --") + need + " (see ikestorm search --help)");
  rq.file = vm["file"].as<std::string>();
  rq.key = vm["vary"].as<std::string>();
  if (auto why = scenario::check_path(rq.key)) return usage("--vary '" + rq.key + "': " + *why);
  const std::string top = scenario::split_path(rq.key).front();
  if (top == "sweep" || top == "expect")
    return usage("--vary " + rq.key + ": the search varies a setting of the scenario, not its " + top + " block");
  auto axis = search::read_axis(vm["from"].as<std::string>(), vm["to"].as<std::string>(),
                                vm.count("resolution") ? vm["resolution"].as<std::string>() : "");
  if (!axis) return usage(axis.error().describe());
  rq.axis = *axis;
  if (vm.count("trials")) {
    auto k = scenario::parse_count(vm["trials"].as<std::string>());
    if (auto* why = std::get_if<std::string>(&k)) return usage("--trials '" + vm["trials"].as<std::string>() + "': " + *why);
    rq.trials = static_cast<std::size_t>(std::get<std::uint64_t>(k));
    if (rq.trials < 1 || rq.trials > kMaxTrialsPerValue)
      return usage("--trials " + std::to_string(rq.trials) + ": between 1 and " + std::to_string(kMaxTrialsPerValue));
  }
  if (vm.count("max-time")) {
    auto t = scenario::parse_duration(vm["max-time"].as<std::string>());
    if (auto* why = std::get_if<std::string>(&t))
      return usage("--max-time '" + vm["max-time"].as<std::string>() + "': " + *why);
    rq.max_time_s = static_cast<double>(std::get<std::chrono::milliseconds>(t).count()) / 1000.0;
    if (rq.max_time_s <= 0) return usage("--max-time must be above 0");
  }
  for (const auto& s : sets) {
    auto o = scenario::parse_set(s);
    if (!o) return usage(o.error().describe());
    if (o->path == rq.key) return usage("--set " + rq.key + " and --vary " + rq.key + " both set it; drop the --set");
    rq.sets.push_back(*o);
  }

  // The scenario itself first (file:line:col), then the key at both ends of the range.
  auto base = load_at(rq, std::nullopt);
  if (!base.ok()) {
    std::cerr << base.diagnostics.str() << "\n";
    return kExitUsage;
  }
  if (!base.loaded->sweep_axes.empty())
    return usage(rq.file + " has a sweep block; a search runs one point per trial (remove the sweep, or "
                 "run one search per sweep value with --set)");
  if (auto why = why_not_numeric(rq, base.loaded->document)) return usage(*why);
  for (double end : {rq.axis.from, rq.axis.to}) {
    auto at = load_at(rq, end);
    if (!at.ok()) {
      std::cerr << at.diagnostics.str() << "\n";
      return kExitUsage;
    }
  }
  return rq;
}

// The run's headline numbers, for search.json's trials (and a chart of them against the value).
nlohmann::json headline(const reports::RunReport& run) {
  const auto& s = run.summary;
  return {{"peers", s.peers},
          {"established", s.established},
          {"established_ratio", s.established_ratio},
          {"setup_rate_per_s", s.setup_rate_per_s},
          {"setup_latency_ms_p99", s.setup_latency_ms.p99},
          {"sut_cpu_s", s.cpu_s.sut},
          {"sut_rss_mb", s.rss_mb.sut},
          {"renegotiations_per_min", s.renegotiations_per_min}};
}

std::string render_junit(const Request& rq, const std::string& name, const search::CapacitySearch& s) {
  using reports::xml_escape;
  std::size_t failures = 0, errors = 0;
  std::ostringstream cases;
  const std::string cls = name + ".search[" + rq.key + "]";
  for (const auto& t : s.trials()) {
    const std::string value = search::format_value(rq.axis, t.value);
    cases << "    <testcase classname=\"" << xml_escape(cls) << "\" name=\""
          << xml_escape(t.folder + " " + rq.key + "=" + value + " (" + std::to_string(t.repeat) + "/" +
                        std::to_string(s.trials_per_value()) + ")")
          << "\" time=\"" << t.wall_s << "\"";
    std::string why;
    for (const auto& f : t.failed) why += (why.empty() ? "" : "; ") + f;
    switch (t.verdict) {
      case search::Verdict::pass: cases << "/>\n"; continue;
      case search::Verdict::fail:
        ++failures;
        cases << ">\n      <failure type=\"expectation\" message=\"" << xml_escape(why) << "\">"
              << xml_escape(why) << "</failure>\n";
        break;
      case search::Verdict::leak:
        ++failures;
        cases << ">\n      <failure type=\"leak\" message=\"the trial left resources behind\">"
              << "remove them with: ikestorm clean</failure>\n";
        break;
      case search::Verdict::harness_fault:
      case search::Verdict::interrupted:
        ++errors;
        cases << ">\n      <error type=\"harness\" message=\"trial outcome: " << search::verdict_name(t.verdict)
              << "\">trial outcome: " << search::verdict_name(t.verdict) << "</error>\n";
        break;
    }
    cases << "    </testcase>\n";
  }
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"ikestorm search " << xml_escape(name)
    << "\" tests=\"" << s.trials().size() << "\" failures=\"" << failures << "\" errors=\"" << errors << "\">\n"
    << "  <testsuite name=\"" << xml_escape(cls) << "\" tests=\"" << s.trials().size() << "\" failures=\""
    << failures << "\" errors=\"" << errors << "\" skipped=\"0\">\n"
    << cases.str() << "  </testsuite>\n</testsuites>\n";
  return o.str();
}

int exit_code_of(search::Status st) {
  switch (st) {
    case search::Status::found:
    case search::Status::max_time:
    case search::Status::running: return kExitOk;
    case search::Status::from_fails: return kExitExpectationFailed;
    case search::Status::interrupted:
    case search::Status::harness_fault: return kExitHarnessFault;
    case search::Status::leak: return kExitLeak;
  }
  return kExitHarnessFault;
}

struct SearchOutput {
  const Request* rq;
  std::string dir, name, command_line, started_at;

  // search.json and junit.xml, atomically: a reader (or a Ctrl-C) never sees half a file.
  void write(const search::CapacitySearch& s) const {
    nlohmann::json j = search::to_json(s);
    j["tool_version"] = kVersion;
    j["command"] = command_line;
    j["scenario"] = name;
    j["file"] = rq->file;
    j["key"] = rq->key;
    j["max_time_s"] = rq->max_time_s;
    j["started_at"] = started_at;
    j["exit_code"] = exit_code_of(s.status());
    if (auto w = write_file_atomic(dir + "/search.json", j.dump(2) + "\n"); !w) log::error(w.error().describe());
    if (auto w = write_file_atomic(dir + "/junit.xml", render_junit(*rq, name, s)); !w)
      log::error(w.error().describe());
    if (auto w = write_file_atomic(dir + "/report.html", reports::render_search_html(j)); !w)
      log::error(w.error().describe());
  }
};

// One trial: the scenario at `value`, run like `ikestorm run` into DIR/trial-NN.
search::TrialResult run_trial(const Request& rq, const SearchOutput& out, const HostSetup& host, double value,
                              std::size_t number) {
  search::TrialResult r;
  char folder[32];
  std::snprintf(folder, sizeof folder, "trial-%02zu", number);
  r.folder = folder;
  const auto t0 = std::chrono::steady_clock::now();
  auto loaded = load_at(rq, value);
  if (!loaded.ok()) {  // both ends were valid; a value between them should be too
    log::error(r.folder, ": ", loaded.diagnostics.str());
    r.verdict = search::Verdict::harness_fault;
    return r;
  }
  auto dir = run::prepare_output_dir(out.dir + "/" + r.folder, true);
  if (!dir) {
    log::error(dir.error().describe());
    r.verdict = search::Verdict::harness_fault;
    return r;
  }
  auto state = RunState::create(new_run_id());
  if (!state) {
    log::error(state.error().describe());
    r.verdict = search::Verdict::harness_fault;
    return r;
  }
  reports::Report report;
  fill_report_head(report, state->run_id(), out.command_line, loaded.loaded->document, rq.file, host.backend,
                   host.charon_version);
  const Execution e = execute_points(*loaded.loaded, {0}, *state, *dir, host, report);
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!report.runs.empty()) {
    const auto& run = report.runs.front();
    r.metrics = headline(run);
    for (const auto& x : run.expectations)
      if (!x.ok) r.failed.push_back(x.expr + " (observed " + x.observed.dump() + ")");
  }
  if (e.exit_code == kExitLeak) r.verdict = search::Verdict::leak;
  else if (e.interrupted || signals::stop_requested()) r.verdict = search::Verdict::interrupted;
  else if (e.exit_code == kExitHarnessFault || report.runs.empty()) r.verdict = search::Verdict::harness_fault;
  else if (e.exit_code == kExitExpectationFailed) r.verdict = search::Verdict::fail;
  else r.verdict = search::Verdict::pass;
  return r;
}

std::string bracket_text(const Request& rq, const search::CapacitySearch& s) {
  auto v = [&](std::optional<double> x) { return x ? search::format_value(rq.axis, *x) : std::string("?"); };
  return "highest pass " + v(s.highest_pass()) + ", lowest fail " + v(s.lowest_fail());
}

int search_main(const std::vector<std::string>& args) {
  po::options_description opts("options");
  std::vector<std::string> sets;
  opts.add_options()
      ("file", po::value<std::string>(), "scenario file (YAML) whose expectations decide pass or fail")
      ("vary", po::value<std::string>(), "KEY: the dotted scenario key to vary, e.g. peers.count")
      ("from", po::value<std::string>(), "A: the lowest value, in the key's units (tried first)")
      ("to", po::value<std::string>(), "B: the highest value, in the key's units")
      ("resolution", po::value<std::string>(), "R: stop when pass and fail are R apart (default 1, 1s or 1/s)")
      ("trials", po::value<std::string>(), "K: trials in a row a value must pass (default 1)")
      ("max-time", po::value<std::string>(), "T: start no trial after T (e.g. 30m); the frontier so far stays")
      ("out", po::value<std::string>(), "search folder (default ./ikestorm-out/<name>-search-<UTC time>)")
      ("force", "write into an existing non-empty --out folder")
      ("set", po::value<std::vector<std::string>>(&sets)->composing(),
       "override another scenario key for every trial, e.g. --set peers.arrival.rate=1000/s");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, kUsage, opts, pos, vm)) return *rc;

  auto read = read_request(vm, sets);
  if (auto* rc = std::get_if<int>(&read)) return *rc;
  const Request& rq = std::get<Request>(read);
  auto base = load_at(rq, rq.axis.from);
  const auto& first = base.loaded->points.front().scenario;

  if (::geteuid() != 0)
    return fail("search", "needs root: each trial creates network namespaces and starts charon (try sudo)",
                kExitHarnessFault);
  auto out_dir = run::prepare_output_dir(
      vm.count("out") ? vm["out"].as<std::string>() : "ikestorm-out/" + first.name + "-search-" + utc_timestamp(true),
      vm.count("force") > 0);
  if (!out_dir) return fail("search", out_dir.error().describe(), kExitUsage);

  signals::install_stop_handlers();
  std::vector<std::size_t> all_points(base.loaded->points.size());
  for (std::size_t k = 0; k < all_points.size(); ++k) all_points[k] = k;
  auto host = setup_host(*base.loaded, all_points);
  if (auto* f = std::get_if<SetupFailure>(&host)) return fail("search", f->message, f->exit_code);
  const HostSetup& setup = std::get<HostSetup>(host);

  SearchOutput out{&rq, *out_dir, first.name, "ikestorm search", utc_timestamp()};
  for (const auto& a : args) out.command_line += " " + a;

  std::cout << "ikestorm search " << first.name << ": " << rq.key << " from "
            << search::format_value(rq.axis, rq.axis.from) << " to " << search::format_value(rq.axis, rq.axis.to)
            << " to within " << search::format_value(rq.axis, rq.axis.resolution) << ", " << rq.trials
            << " trial(s) per value, backend " << setup.backend << "\n"
            << "search folder: " << *out_dir << "\n";
  std::cout.flush();

  search::CapacitySearch s(rq.axis, rq.trials);
  const auto t0 = std::chrono::steady_clock::now();
  search::Limits limits;
  limits.max_time_s = rq.max_time_s;
  limits.elapsed_s = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  limits.stop_requested = [] { return signals::stop_requested(); };
  out.write(s);
  search::run_search(
      s,
      [&](double value, std::size_t number, std::size_t repeat) {
        std::cerr << "trial " << number << ": " << rq.key << "=" << search::format_value(rq.axis, value)
                  << (rq.trials > 1 ? " (" + std::to_string(repeat) + "/" + std::to_string(rq.trials) + ")" : "")
                  << " ...\n";
        return run_trial(rq, out, setup, value, number);
      },
      [&](const search::CapacitySearch& now, const search::Trial& t) {
        out.write(now);  // after every trial: Ctrl-C or a crash keeps what is known
        std::cout << "trial " << t.number << "  " << rq.key << "=" << search::format_value(rq.axis, t.value)
                  << (rq.trials > 1 ? " (" + std::to_string(t.repeat) + "/" + std::to_string(rq.trials) + ")" : "")
                  << "  " << search::verdict_name(t.verdict) << "  " << fmt(t.wall_s) << " s  " << t.folder;
        if (!t.failed.empty()) std::cout << "  " << t.failed.front();
        std::cout << "\n  " << bracket_text(rq, now) << "\n";
        std::cout.flush();
      },
      limits);
  out.write(s);

  std::cout << "\n" << rq.key << ": ";
  switch (s.status()) {
    case search::Status::found:
      std::cout << "highest passing value " << search::format_value(rq.axis, *s.highest_pass());
      if (s.lowest_fail())
        std::cout << ", lowest failing " << search::format_value(rq.axis, *s.lowest_fail());
      else
        std::cout << " (--to itself passes: the frontier is at or above it)";
      break;
    case search::Status::from_fails:
      std::cout << "even --from " << search::format_value(rq.axis, rq.axis.from) << " fails";
      break;
    case search::Status::max_time:
      std::cout << "--max-time reached before the resolution; " << bracket_text(rq, s);
      break;
    default:
      std::cout << "stopped (" << search::status_name(s.status()) << ") before the resolution was reached; "
                << bracket_text(rq, s);
  }
  std::cout << "\n" << s.trials().size() << " trial(s) in " << fmt(limits.elapsed_s()) << " s\n"
            << "search: " << *out_dir << "/search.json (also junit.xml, a report folder per trial)\n";
  return exit_code_of(s.status());
}

CommandRegistrar reg({"search", "find the highest value of a scenario key at which every expectation holds",
                      &search_main, 12});

}  // namespace
}  // namespace ist::cli
