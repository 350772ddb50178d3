// ikestorm run [FILE] [--set k=v ...] [--peers N] [--out DIR] [--shard i/n]: runs a scenario
// (or the built-in default) against a real charon and writes report.json.
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "cli/command.hpp"
#include "cli/report_codes.hpp"
#include "cli/run_exec.hpp"
#include "cli/run_in_vm.hpp"
#include "cli/version.hpp"
#include "common/child_process.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/named_netns.hpp"
#include "common/probe.hpp"
#include "common/run_state.hpp"
#include "common/signals.hpp"
#include "netns/ip_address.hpp"
#include "reports/merge.hpp"
#include "reports/number_text.hpp"
#include "reports/output.hpp"
#include "reports/report.hpp"
#include "run/output_dir.hpp"
#include "run/run_point.hpp"
#include "run/target_host.hpp"
#include "scenario/generator.hpp"
#include "scenario/load.hpp"
#include "taxonomy/codes.hpp"

namespace ist::cli {
namespace {

const Usage kUsage{
    "ikestorm run [FILE] [--set KEY=VALUE ...] [--peers N] [--rate R] [--backend B] [--out DIR] "
    "[--force] [--shard I/N] [--resume DIR] [--generator I/N] [--start-at TIME] [--in-vm [--vm-cpus N]]",
    "Runs a scenario against a real strongSwan charon (the system under test) in private\n"
    "network namespaces and writes DIR/report.json with a summary on screen. Without FILE it\n"
    "runs the built-in default scenario: 1,000 PSK peers at 500/s, a 10 s hold, teardown.\n"
    "Needs root (it creates network namespaces). Ctrl-C tears everything down in order and\n"
    "still writes a partial report. --in-vm runs all of it (SUT and peers) inside one qemu\n"
    "guest with the host's distro kernel, every SA real kernel XFRM (backend xfrm), and\n"
    "copies the report folder back to --out.\n\n"
    "Exit codes: 0 every expectation met; 1 an expectation failed; 2 bad scenario or\n"
    "arguments; 3 harness fault or interrupted; 4 a resource leaked (the highest wins).",
    "  ikestorm run                                   # the default scenario\n"
    "  ikestorm run --peers 100 --set sut.charon.ikesa_limit=50\n"
    "  ikestorm run scenarios/lifetime-sweep.yaml --out /tmp/sweep\n"
    "  ikestorm run scenarios/limits.yaml --shard 2/4 # every 4th sweep point, from the 2nd\n"
    "  ikestorm run --in-vm --peers 20 --out /tmp/r  # real kernel XFRM on a host without ESP\n"
    "  ikestorm run gw.yaml --generator 2/4 --start-at 2026-12-07T07:00:00Z --set target.local=198.18.100.51/24\n"
    "                                                 # the 2nd of 4 machines driving one gateway"};

std::string read_cpu_model() {
  std::ifstream f("/proc/cpuinfo");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "";
}

std::string random_psk() {
  std::random_device rd;
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string s;
  for (int i = 0; i < 32; ++i) s += a[rd() % 62];
  return s;
}

double harness_cpu_s() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double harness_rss_mb() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

// What the run left behind: namespaces with its id, live journaled processes.
uint64_t count_leaks(const RunState& state, std::vector<std::string>& what) {
  uint64_t n = 0;
  for (const auto& ns : list_named_netns()) {
    if (run_id_of_name(ns) == state.run_id()) {
      what.push_back("namespace " + ns);
      ++n;
    }
  }
  auto live = state.live_resources();
  if (live) {
    for (const auto& r : *live) {
      if (r.kind == resource_kind::process) {
        pid_t pid = static_cast<pid_t>(std::stol(r.name));
        auto ticks = process_start_ticks(pid);
        std::string start = r.detail.substr(0, r.detail.find(' '));
        if (ticks && std::to_string(*ticks) == start) {
          what.push_back("process " + r.name + " (" + r.detail + ")");
          ++n;
        }
      } else if (r.kind == resource_kind::netns) {
        if (named_netns_exists(r.name) &&
            std::find(what.begin(), what.end(), "namespace " + r.name) == what.end()) {
          what.push_back("namespace " + r.name);
          ++n;
        }
      }
    }
  }
  return n;
}

std::string fmt(double v, int prec = 1) { return reports::format_fixed(v, prec); }

}  // namespace

void print_point(const reports::RunReport& r, bool with_parameters) {
  const auto& s = r.summary;
  if (with_parameters) {
    std::string p;
    for (auto& [k, v] : r.parameters.items()) p += (p.empty() ? "" : ", ") + k + "=" + v.get<std::string>();
    std::cout << "\n" << r.folder << "  (" << p << ")\n";
  }
  std::cout << "  peers          " << s.peers << "\n"
            << "  established    " << s.established << " (" << fmt(100.0 * s.established_ratio) << "%)"
            << "   the SUT's own count: "
            << (s.sut_ike_sas_at_connect_end || !s.established ? std::to_string(s.sut_ike_sas_at_connect_end)
                                                               : std::string("not read (see notes)"))
            << (s.xfrm_states ? "   its kernel's ESP states: " + std::to_string(s.xfrm_states) : std::string()) << "\n"
            << "  failed         " << s.failed << "\n"
            << "  setup rate     " << fmt(s.setup_rate_per_s) << "/s\n"
            << "  setup latency  p50 " << fmt(s.setup_latency_ms.p50, 0) << " ms  p90 "
            << fmt(s.setup_latency_ms.p90, 0) << " ms  p99 " << fmt(s.setup_latency_ms.p99, 0) << " ms  max "
            << fmt(s.setup_latency_ms.max, 0) << " ms\n"
            << "  rekeys         IKE " << s.rekeys.ike << "  CHILD " << s.rekeys.child
            << "   renegotiations " << fmt(s.renegotiations_per_min) << "/min (scenario time), "
            << fmt(s.renegotiations_per_min_wall) << "/min wall\n"
            << "  SUT            CPU " << fmt(s.cpu_s.sut, 2) << " s   RSS " << fmt(s.rss_mb.sut) << " MB\n"
            << "  peer daemons   CPU " << fmt(s.cpu_s.peers, 2) << " s   RSS " << fmt(s.rss_mb.peers) << " MB\n";
  if (!r.codes.empty()) {
    std::cout << "  failures by Windows code:\n";
    for (const auto& [name, c] : r.codes)
      std::cout << "    " << name << "  peers " << c.peers << "  attempts " << c.attempts << "\n";
  }
  if (s.unclassified || s.unclassified_attempts) {
    std::cout << "  unclassified   peers " << s.unclassified << "  attempts " << s.unclassified_attempts
              << "   (no rule names them; evidence in the report's unclassified[])\n";
    for (std::size_t i = 0; i < r.unclassified.size() && i < 3; ++i)
      std::cout << "    " << r.unclassified[i].peer << " " << r.unclassified[i].exchange << ": "
                << (r.unclassified[i].evidence.empty() ? "" : r.unclassified[i].evidence.front()) << "\n";
  }
  if (s.harness_faults) {
    std::cout << "  harness faults " << s.harness_faults << "   (the harness's own side; no Windows code)\n";
    for (std::size_t i = 0; i < r.harness_faults.size() && i < 3; ++i)
      std::cout << "    " << r.harness_faults[i].peer << ": "
                << (r.harness_faults[i].evidence.empty() ? "" : r.harness_faults[i].evidence.front()) << "\n";
  }
  if (s.abandoned) std::cout << "  abandoned      " << s.abandoned << "   (attempts the harness cut short)\n";
  if (r.sut_death) {
    std::cout << "  SUT DIED       at " << fmt(r.sut_death->t_ms / 1000.0) << " s: " << r.sut_death->how << "; "
              << s.lost << " peer(s) that were up lost their SAs\n";
    for (const auto& line : r.sut_death->backtrace) std::cout << "    " << line << "\n";
    if (r.sut_death->backtrace.empty())
      for (std::size_t i = r.sut_death->log_tail.size() > 5 ? r.sut_death->log_tail.size() - 5 : 0;
           i < r.sut_death->log_tail.size(); ++i)
        std::cout << "    " << r.sut_death->log_tail[i] << "\n";
  }
  for (const auto& u : r.sut_unresponsive)
    std::cout << "  SUT SILENT     from " << fmt(u.from_ms / 1000.0) << " s to " << fmt(u.to_ms / 1000.0)
              << " s: no vici answer, no IKE answer, no CPU spent (sut-unresponsive)\n";
  for (const auto& e : r.expectations)
    std::cout << "  expect         " << e.expr << "   " << (e.ok ? "ok" : "FAILED") << " (observed "
              << e.observed.dump() << ")\n";
  if (r.outcome != "complete") std::cout << "  outcome        " << r.outcome << "\n";
}

namespace {

// --set values and the shortcut options, in the order given.
// FILE or the built-in scenario. codes.NAME in `expect` must name a real code (with "did you
// mean" for a typo); target: is judged against this host as `validate` judges it.
scenario::LoadOutcome load_scenario(const po::variables_map& vm, const std::vector<scenario::Override>& overrides) {
  std::vector<std::string> known_codes;
  for (const auto& c : taxonomy::CodeTable::instance().all()) known_codes.push_back(c.name);
  if (vm.count("file"))
    return scenario::load_file(vm["file"].as<std::string>(), overrides, known_codes, run::target_host_problems);
  return scenario::load_default(overrides, known_codes, run::target_host_problems);
}

Result<std::vector<scenario::Override>> overrides_of(const po::variables_map& vm, const std::vector<std::string>& sets) {
  std::vector<scenario::Override> overrides;
  for (const auto& s : sets) {
    auto o = scenario::parse_set(s);
    if (!o) return std::move(o).error();
    overrides.push_back(*o);
  }
  if (vm.count("peers")) overrides.push_back(scenario::peers_override(vm["peers"].as<std::string>()));
  auto shortcut = [&](const char* opt, std::string path, std::string value) {
    overrides.push_back({std::move(path), std::move(value), std::string("--") + opt});
  };
  if (vm.count("rate")) shortcut("rate", "peers.arrival", "{rate: " + vm["rate"].as<std::string>() + "}");
  if (vm.count("backend")) shortcut("backend", "backend", vm["backend"].as<std::string>());
  if (vm.count("daemons")) shortcut("daemons", "peers.daemons", vm["daemons"].as<std::string>());
  return overrides;
}

struct BackendChoice {
  std::string name, reason;
};

// What the host can do decides `auto`; a backend asked for that the host lacks is exit 2.
Result<BackendChoice> choose_backend(const scenario::Scenario& first, const probe::HostCapabilities& caps) {
  switch (first.backend) {
    case scenario::Backend::auto_select: {
      BackendChoice c;
      c.name = probe::auto_backend(caps, &c.reason);
      return c;
    }
    case scenario::Backend::libipsec: return BackendChoice{"libipsec", "asked for"};
    case scenario::Backend::xfrm:
      if (!caps.esp.available)
        return Error("backend xfrm: this kernel cannot hold ESP states (" + caps.esp.detail +
                     "); use libipsec, or vm for real XFRM");
      return BackendChoice{"xfrm", "asked for"};
    case scenario::Backend::vm:
      // The SUT charon runs in a qemu guest with a distro kernel that holds ESP states.
      if (!caps.qemu.available || !caps.vm_kernel.available)
        return Error("backend vm: " + (!caps.qemu.available ? caps.qemu.detail : caps.vm_kernel.detail) +
                     " (ci/install-deps.sh installs qemu-system-x86 and linux-image-amd64)");
      return BackendChoice{"vm", "asked for: SUT charon with kernel-netlink in a guest running " + caps.vm_kernel_path};
  }
  return Error("unknown backend");
}

// A target run's first line: what will be sent where, from where, at what rate.
std::string target_line(const scenario::Scenario& s) {
  const scenario::Target& t = *s.target;
  const scenario::Arrival& a = s.peers.arrival;
  std::ostringstream rate;
  switch (a.kind) {
    case scenario::Arrival::Kind::rate: rate << a.rate_per_s << "/s"; break;
    case scenario::Arrival::Kind::burst: rate << "bursts of " << a.burst; break;
    case scenario::Arrival::Kind::ramp: rate << a.ramp_from_per_s << " to " << a.ramp_to_per_s << "/s"; break;
  }
  std::ostringstream o;
  o << "target: IKE (UDP 500, 4500) to " << t.address << " only, from " << s.peers.count << " peer(s) in " << t.peers
    << " and " << t.local << " (a macvlan of " << t.interface << "), connecting at " << rate.str();
  if (t.vici_host) o << "; vici tcp://" << netns::host_port(*t.vici_host, t.vici_port);
  return o.str();
}

// The kernel pieces the points' topology needs (a veth pair and bridges always; tbf for
// link.rate, nftables for link.loss, TUN for libipsec), as the probe found them in its
// scratch namespace: a missing one is named with the probe's exact error before anything is
// created (a minimal kernel, e.g. a guest without the bridge module).
Status check_topology_pieces(const scenario::Loaded& L, const std::vector<std::size_t>& indices,
                             const std::string& backend, const probe::HostCapabilities& caps) {
  // A target's peers leave through a macvlan of the host's interface (no veth); the charon
  // engine's peer addresses still sit on port-less bridges.
  const scenario::Scenario& first = L.points.front().scenario;
  std::vector<std::pair<const char*, const probe::Check*>> needed;
  if (!first.target) needed = {{"veth", &caps.veth}, {"bridge", &caps.bridge}};
  else if (first.peers.engine == scenario::Engine::charon) needed = {{"bridge", &caps.bridge}};
  bool rate = false, loss = false;
  for (auto k : indices) {
    rate = rate || L.points[k].scenario.link.rate_bits_per_s.has_value();
    loss = loss || L.points[k].scenario.link.loss > 0;
  }
  if (rate) needed.push_back({"tbf (link.rate)", &caps.tbf});
  if (loss) needed.push_back({"nftables (link.loss)", &caps.nftables});
  if (backend == "libipsec") needed.push_back({"tun (backend libipsec)", &caps.tun});
  std::string missing;
  for (const auto& [name, check] : needed)
    if (!check->available) missing += std::string(missing.empty() ? "" : "; ") + name + ": " + check->detail;
  if (missing.empty()) return ok();
  return Error("this kernel lacks what the run's topology needs (nothing was created): " + missing +
               " (load the modules, e.g. modprobe veth bridge sch_tbf nf_tables nft_numgen tun)");
}

// Runs killed outright (SIGKILL, a CI timeout) could not tear down: say so once.
void warn_about_killed_runs() {
  std::size_t dead = 0;
  for (const auto& id : RunState::list_runs())
    if (auto st = RunState::open(id); st && !st->owner_alive()) ++dead;
  if (dead)
    log::warn(dead, " earlier run(s) were killed before their teardown and left namespaces or state behind; "
                    "`ikestorm clean` removes them");
}

}  // namespace

void fill_report_head(reports::Report& report, const std::string& run_id, const std::string& command_line,
                      const nlohmann::json& document, const std::string& file, const std::string& backend,
                      const std::string& charon_version) {
  report.tool_version = kVersion;
  report.run_id = run_id;
  if (report.started_at.empty()) report.started_at = utc_timestamp();
  report.command = command_line;
  report.scenario = document;
  report.scenario_yaml = scenario_yaml_as_written(file);
  report.backend = backend;
  report.real_xfrm = false;  // only from evidence: a point whose SUT kernel held ESP states
  utsname u{};
  ::uname(&u);
  report.host.kernel = std::string(u.sysname) + " " + u.release;
  report.host.sut_kernel = report.host.kernel;
  report.host.cpu = read_cpu_model() + " (" + std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " cores)";
  report.host.strongswan = charon_version;
}

namespace {

using DeferredExpectations = std::map<std::string, std::vector<scenario::Expectation>>;  // by run folder

void evaluate_into(const std::vector<scenario::Expectation>& expectations, reports::RunReport& rr) {
  nlohmann::json run_json = reports::to_json(reports::Report{.runs = {rr}})["runs"][0];
  for (const auto& e : scenario::evaluate(expectations, run_json)) rr.expectations.push_back({e.expr, e.ok, e.observed});
}

// The point's expectations (with the implied sut_survived == 1); those on leaks wait until
// teardown is over and the leak check has run.
void judge_point(const scenario::Scenario& sc, reports::RunReport& rr, DeferredExpectations& after_leaks) {
  std::vector<scenario::Expectation> now;
  for (auto& e : scenario::with_implied_survival(sc.expect))
    (e.path == "leaks" ? after_leaks[rr.folder] : now).push_back(std::move(e));
  evaluate_into(now, rr);
}

// Nothing may be left behind: counts what the run left, judges the deferred expectations,
// and gives the exit code the expectations and leaks call for.
int judge_leaks(RunState& state, reports::Report& report, const DeferredExpectations& after_leaks) {
  // Test hook: leave one journaled namespace behind, so tests can prove that a leak is
  // detected, reported and exits 4 (and that `ikestorm clean` then removes it).
  if (const char* leak = std::getenv("IKESTORM_TEST_LEAK_NETNS"); leak && *leak == '1') {
    std::string ns = netns_name(state.run_id(), "leak");
    (void)state.record({std::string(resource_kind::netns), ns, ""});
    (void)run_command({ip_program(), "netns", "add", ns});
  }
  std::vector<std::string> leaked;
  const uint64_t leaks = count_leaks(state, leaked);
  int exit_code = kExitOk;
  for (auto& r : report.runs) {
    r.summary.leaks = leaks;
    if (auto deferred = after_leaks.find(r.folder); deferred != after_leaks.end()) evaluate_into(deferred->second, r);
    for (const auto& e : r.expectations)
      if (!e.ok) exit_code = std::max(exit_code, kExitExpectationFailed);
  }
  if (leaks) {
    for (const auto& w : leaked) log::error("left behind: ", w, " (remove with: ikestorm clean)");
    return kExitLeak;
  }
  (void)state.remove();
  return exit_code;
}

struct Sweep {
  int exit_code = kExitOk;  // harness faults so far (expectations and leaks come after)
  bool interrupted = false;
};

// Runs the selected points one after another, judging each and writing the report after
// every point (an interrupted sweep keeps what it finished).
Sweep run_points(const scenario::Loaded& L, const std::vector<std::size_t>& indices, RunState& state,
                 const std::string& out, const std::string& backend, bool host_esp,
                 std::optional<std::chrono::system_clock::time_point> start_at, reports::Report& report,
                 DeferredExpectations& after_leaks) {
  run::Progress progress;
  const std::string psk = random_psk();
  Sweep sweep;
  for (std::size_t n = 0; n < indices.size() && !signals::stop_requested(); ++n) {
    std::size_t k = indices[n];
    const auto& point = L.points[k];
    run::PointContext ctx;
    ctx.state = &state;
    ctx.out_dir = out;
    ctx.point_dir = "run-" + std::to_string(k + 1);
    ctx.backend = backend;
    ctx.host_esp = host_esp;
    ctx.progress = &progress;
    ctx.psk = psk;
    if (n == 0) ctx.start_at = start_at;  // the first point starts together; the rest follow
    if (indices.size() > 1) std::cerr << "point " << (n + 1) << "/" << indices.size() << " (" << ctx.point_dir << ")\n";
    auto po = run::run_point(point, ctx);
    if (po.start_skew_ms && report.generator) report.generator->start_skew_ms = *po.start_skew_ms;
    if (!po.sut_version.empty()) report.host.strongswan = po.sut_version;
    if (!po.sut_kernel.empty()) report.host.sut_kernel = po.sut_kernel;
    report.real_xfrm = report.real_xfrm || po.real_xfrm;
    if (po.target) report.target = po.target;
    auto& rr = po.report;
    rr.summary.cpu_s.harness = harness_cpu_s();
    rr.summary.rss_mb.harness = harness_rss_mb();

    judge_point(point.scenario, rr, after_leaks);
    if (rr.outcome == "harness-fault") {
      log::error(ctx.point_dir, ": harness fault (see the report's notes and harness_faults)");
      sweep.exit_code = std::max(sweep.exit_code, kExitHarnessFault);
    }
    if (!po.fault.empty()) {
      log::error(ctx.point_dir, ": ", po.fault);
      sweep.exit_code = std::max(sweep.exit_code, kExitHarnessFault);
    }
    sweep.interrupted = sweep.interrupted || po.interrupted;
    report.runs.push_back(std::move(rr));
    // Point order, also when --resume appended to an earlier report.
    std::stable_sort(report.runs.begin(), report.runs.end(), [](const auto& a, const auto& b) {
      return reports::point_number(a).value_or(0) < reports::point_number(b).value_or(0);
    });
    // Written after every point: an interrupted sweep keeps what it finished.
    if (auto w = reports::write_all(report, out, report_code_lookup()); !w) {
      log::error(w.error().describe());
      sweep.exit_code = std::max(sweep.exit_code, kExitHarnessFault);
    }
  }

  return sweep;
}

// The report of an interrupted run to continue: only its finished points count as done (an
// interrupted one runs again), and it must come from the same scenario and --set values.
Result<reports::Report> resume_report(const std::string& dir, const nlohmann::json& document,
                                      std::set<std::string>& finished) {
  auto prev = reports::read_json(dir + "/report.json");
  if (!prev) return std::move(prev).error().wrap("--resume");
  if (prev->scenario != document)
    return Error("--resume: " + dir + "/report.json was made from a different scenario (or other --set values)");
  finished = reports::finished_points(*prev);
  std::erase_if(prev->runs, [&](const reports::RunReport& r) { return !finished.count(r.folder); });
  return prev;
}

// --shard I/N picks every N-th point from the I-th; the report keeps each point's index in
// its folder name.
Result<std::vector<std::size_t>> shard_points(const po::variables_map& vm, std::size_t points) {
  std::size_t shard_i = 1, shard_n = 1;
  if (vm.count("shard")) {
    const auto& sh = vm["shard"].as<std::string>();
    if (std::sscanf(sh.c_str(), "%zu/%zu", &shard_i, &shard_n) != 2 || shard_n == 0 || shard_i == 0 ||
        shard_i > shard_n)
      return Error("--shard '" + sh + "': expected I/N with 1 <= I <= N");
  }
  std::vector<std::size_t> indices;
  for (std::size_t k = 0; k < points; ++k)
    if (k % shard_n == shard_i - 1) indices.push_back(k);
  if (indices.empty()) return Error("shard " + vm["shard"].as<std::string>() + " has no sweep points");
  return indices;
}

// --in-vm: the same command, run by this binary inside a guest (run_in_vm.hpp). What makes
// no sense there is refused here, with exit 2, before the guest boots.
int run_in_vm_main(const po::variables_map& vm, const std::vector<std::string>& sets, const scenario::Loaded& L) {
  for (const auto& point : L.points) {
    const auto b = point.scenario.backend;
    if (b == scenario::Backend::vm || b == scenario::Backend::libipsec)
      return fail("run",
                  std::string("--in-vm runs every SA on the guest kernel's XFRM (backend xfrm); backend ") +
                      (b == scenario::Backend::vm ? "vm" : "libipsec") + " makes no sense with it",
                  kExitUsage);
  }
  if (vm.count("resume")) return fail("run", "--in-vm cannot --resume (the guest starts empty)", kExitUsage);
  if (vm.count("generator") || vm.count("start-at"))
    return fail("run", "--in-vm cannot be a --generator or wait for --start-at (its guest reaches no gateway)",
                kExitUsage);
  const unsigned cpus = vm["vm-cpus"].as<unsigned>();
  if (cpus == 0 || cpus > 64) return fail("run", "--vm-cpus must be between 1 and 64", kExitUsage);
  if (::geteuid() != 0)
    return fail("run", "needs root: --in-vm boots a guest in a network namespace of its own (try sudo)",
                kExitHarnessFault);
  const auto& first = L.points.front().scenario;
  auto out = run::prepare_output_dir(vm.count("out") ? vm["out"].as<std::string>() : run::default_output_dir(first.name),
                                     vm.count("force") > 0);
  if (!out) return fail("run", out.error().describe(), kExitUsage);
  signals::install_stop_handlers();

  InVmRun r;
  std::error_code ec;
  r.cwd = std::filesystem::current_path(ec).string();
  r.out = std::filesystem::absolute(*out, ec).string();
  r.cpus = cpus;
  if (vm.count("file")) r.inner_args.push_back(std::filesystem::absolute(vm["file"].as<std::string>(), ec).string());
  for (const auto& s : sets) r.inner_args.insert(r.inner_args.end(), {"--set", s});
  for (const char* opt : {"peers", "rate", "daemons", "shard"})
    if (vm.count(opt)) r.inner_args.insert(r.inner_args.end(), {std::string("--") + opt, vm[opt].as<std::string>()});
  r.inner_args.insert(r.inner_args.end(), {"--backend", "xfrm"});  // auto too: never libipsec by surprise
  std::cout << "ikestorm run " << first.name << " --in-vm: report folder " << r.out << std::endl;
  return run_in_vm(r);
}

// --generator I/N and --start-at: each point becomes this generator's share of it (its block
// of peers, its prefixes, its part of the rates); the report keeps the scenario as written.
struct GeneratorChoice {
  std::optional<reports::GeneratorInfo> info;
  std::optional<std::chrono::system_clock::time_point> start_at;
};

// What this generator drives and when it starts (--generator, --start-at), said before it runs.
void print_generator_head(const GeneratorChoice& gen, const scenario::Scenario& first) {
  if (gen.info) {
    const reports::GeneratorInfo& g = *gen.info;
    std::cout << "generator " << g.index << "/" << g.count << ": peers p" << g.first_peer << "..p"
              << (g.first_peer + g.peers - 1) << " from " << g.peers_prefix
              << (g.inner_prefix.empty() ? "" : " (inner " + g.inner_prefix + ")") << " via target.local "
              << first.target->local << "; the gateway routes these prefixes to it\n";
  }
  if (gen.start_at) std::cout << "start at " << utc_timestamp(*gen.start_at) << "\n";
}

Result<GeneratorChoice> apply_generator(const po::variables_map& vm, scenario::Loaded& L) {
  GeneratorChoice out;
  std::optional<scenario::GeneratorSlot> slot;
  if (vm.count("generator")) {
    if (vm.count("shard") || vm.count("resume"))
      return Error("--generator cannot be combined with --shard or --resume (yet)");
    auto g = scenario::parse_generator(vm["generator"].as<std::string>());
    if (!g) return std::move(g).error();
    slot = *g;
  }
  if (vm.count("start-at")) {
    const auto now = std::chrono::system_clock::now();
    auto t = scenario::parse_start_at(vm["start-at"].as<std::string>(), !slot || slot->count == 1, now);
    if (!t) return std::move(t).error();
    out.start_at = *t;
  }
  if (!slot) return out;
  for (auto& point : L.points) {
    auto share = scenario::generator_share(point.scenario, *slot);
    if (!share) return std::move(share).error();
    point.scenario = std::move(*share);
  }
  const scenario::Scenario& s = L.points.front().scenario;
  reports::GeneratorInfo info;
  info.index = slot->index;
  info.count = slot->count;
  if (out.start_at) info.start_at = utc_timestamp(*out.start_at);
  info.first_peer = s.peers.first_index;
  info.peers = s.peers.count;
  info.peers_prefix = s.target->peers;
  info.inner_prefix = s.target->inner.value_or("");
  out.info = info;
  return out;
}

}  // namespace

std::variant<HostSetup, SetupFailure> setup_host(const scenario::Loaded& L, const std::vector<std::size_t>& indices) {
  // Backend: what the host can do decides `auto`.
  probe::ProbeOptions probe_opts;
  probe_opts.boot_kernel_under_kvm = false;  // only the vm backend needs that (up to 5 s)
  auto caps = probe::probe_host(probe_opts);
  auto chosen = choose_backend(L.points.front().scenario, caps);
  if (!chosen) return SetupFailure{chosen.error().describe(), kExitUsage};
  if (!caps.charon.available) return SetupFailure{"charon not usable: " + caps.charon.detail, kExitHarnessFault};
  if (auto st = check_topology_pieces(L, indices, chosen->name, caps); !st)
    return SetupFailure{st.error().describe(), kExitUsage};
  warn_about_killed_runs();
  return HostSetup{chosen->name, chosen->reason, caps.charon_version, caps.esp.available};
}

Execution execute_points(const scenario::Loaded& L, const std::vector<std::size_t>& indices, RunState& state,
                         const std::string& out, const HostSetup& host, reports::Report& report,
                         std::optional<std::chrono::system_clock::time_point> start_at) {
  DeferredExpectations after_leaks;
  const Sweep sweep = run_points(L, indices, state, out, host.backend, host.host_esp, start_at, report, after_leaks);
  Execution e{sweep.exit_code, sweep.interrupted};
  e.exit_code = std::max(e.exit_code, judge_leaks(state, report, after_leaks));
  if (auto w = reports::write_all(report, out, report_code_lookup()); !w) log::error(w.error().describe());
  return e;
}

namespace {

int run_main(const std::vector<std::string>& args) {
  po::options_description opts("options");
  std::vector<std::string> sets;
  opts.add_options()
      ("file", po::value<std::string>(), "scenario file (YAML); none = the built-in default")
      ("set", po::value<std::vector<std::string>>(&sets)->composing(),
       "override a scenario key by dotted path, e.g. --set sut.charon.ikesa_limit=50 (repeatable)")
      ("peers", po::value<std::string>(), "number of peers (same as --set peers.count=N)")
      ("rate", po::value<std::string>(), "arrival rate, e.g. 200/s (same as --set peers.arrival={rate: R})")
      ("backend", po::value<std::string>(), "auto | xfrm | libipsec | vm (same as --set backend=B)")
      ("daemons", po::value<std::string>(), "initiator charons (same as --set peers.daemons=K)")
      ("out", po::value<std::string>(), "report folder (default ./ikestorm-out/<name>-<UTC time>)")
      ("force", "write into an existing non-empty --out folder")
      ("shard", po::value<std::string>(), "I/N: run every N-th sweep point starting at the I-th (1-based)")
      ("resume", po::value<std::string>(),
       "DIR: continue an interrupted run in DIR, skipping the sweep points its report.json finished")
      ("generator", po::value<std::string>(),
       "I/N: be generator I of N driving one target: its block of the peers, from its part of target.peers "
       "and target.inner, at 1/N of the arrival rate (ikestorm merge folds the N reports)")
      ("start-at", po::value<std::string>(),
       "TIME: build everything, then start the phases at TIME (RFC 3339 UTC, e.g. 2026-12-07T07:00:00Z; "
       "+30s only without --generator)")
      ("in-vm", "run everything (SUT and peers) in one qemu guest with the distro kernel: backend xfrm")
      ("vm-cpus", po::value<unsigned>()->default_value(2), "--in-vm: the guest's vCPUs");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, kUsage, opts, pos, vm)) return *rc;

  auto overrides = overrides_of(vm, sets);
  if (!overrides) return fail("run", overrides.error().describe(), kExitUsage);

  scenario::LoadOutcome loaded = load_scenario(vm, *overrides);
  if (!loaded.ok()) {
    std::cerr << loaded.diagnostics.str() << "\n";
    return kExitUsage;
  }
  auto& L = *loaded.loaded;
  if (vm.count("in-vm")) return run_in_vm_main(vm, sets, L);

  // --resume: the earlier report decides which points are done (same scenario required).
  reports::Report report;
  std::set<std::string> finished;
  if (vm.count("resume")) {
    if (vm.count("out")) return fail("run", "--resume DIR already names the report folder; drop --out", kExitUsage);
    auto prev = resume_report(vm["resume"].as<std::string>(), L.document, finished);
    if (!prev) return fail("run", prev.error().describe(), kExitUsage);
    report = std::move(*prev);
  }
  auto gen = apply_generator(vm, L);
  if (!gen) return fail("run", gen.error().describe(), kExitUsage);
  auto selected = shard_points(vm, L.points.size());
  if (!selected) return fail("run", selected.error().describe(), kExitUsage);
  std::vector<std::size_t> indices = *selected;
  std::erase_if(indices, [&](std::size_t k) { return finished.count("run-" + std::to_string(k + 1)) > 0; });

  const auto& first = L.points.front().scenario;
  if (vm.count("vm-cpus") && !vm["vm-cpus"].defaulted()) return fail("run", "--vm-cpus needs --in-vm", kExitUsage);
  if (::geteuid() != 0)
    return fail("run", "needs root: it creates network namespaces and starts charon (try sudo)", kExitHarnessFault);

  auto out = vm.count("resume") ? run::prepare_output_dir(vm["resume"].as<std::string>(), true)
                                 : run::prepare_output_dir(vm.count("out") ? vm["out"].as<std::string>()
                                                                           : run::default_output_dir(first.name),
                                                           vm.count("force") > 0);
  if (!out) return fail("run", out.error().describe(), kExitUsage);

  signals::install_stop_handlers();

  auto host = setup_host(L, indices);
  if (auto* f = std::get_if<SetupFailure>(&host)) return fail("run", f->message, f->exit_code);
  const HostSetup& setup = std::get<HostSetup>(host);

  auto state = RunState::create(new_run_id());
  if (!state) return fail("run", state.error().describe(), kExitHarnessFault);

  std::string command_line = "ikestorm run";
  for (const auto& a : args) command_line += " " + a;
  fill_report_head(report, state->run_id(), command_line, L.document,
                   vm.count("file") ? vm["file"].as<std::string>() : "", setup.backend, setup.charon_version);
  report.generator = gen->info;

  if (first.target) std::cout << target_line(first) << "\n";
  if (!finished.empty())
    std::cout << "resuming: " << (selected->size() - indices.size()) << " of " << selected->size()
              << " point(s) already done\n";
  std::cout << "ikestorm run " << first.name << ": run " << state->run_id() << ", " << indices.size()
            << " point(s), backend " << setup.backend << " (" << setup.reason << ")\n"
            << "report folder: " << *out << "\n";
  print_generator_head(*gen, first);
  std::cout.flush();

  const Execution done = execute_points(L, indices, *state, *out, setup, report, gen->start_at);
  int exit_code = done.exit_code;
  const bool interrupted = done.interrupted;
  const std::string report_path = *out + "/report.json";

  std::cout << "\n" << first.name << (first.description.empty() ? "" : ": " + first.description) << "\n";
  for (const auto& r : report.runs) print_point(r, report.runs.size() > 1);
  if (interrupted) {
    std::cout << "\ninterrupted: the report holds what was measured until then\n";
    exit_code = std::max(exit_code, kExitHarnessFault);
  }
  std::cout << "\nreport: " << report_path << " (also report.html, junit.xml)\n";
  return exit_code;
}

CommandRegistrar reg({"run", "run a scenario (or the built-in default) against a real charon", &run_main, 10});

}  // namespace
}  // namespace ist::cli
