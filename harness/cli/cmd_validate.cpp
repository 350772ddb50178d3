// ikestorm validate FILE: checks a scenario without root and without running anything.
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/command.hpp"
#include "run/target_host.hpp"
#include "scenario/effective.hpp"
#include "scenario/load.hpp"
#include "scenario/units.hpp"
#include "taxonomy/codes.hpp"

namespace ist::cli {
namespace {

namespace sc = ist::scenario;

std::string describe_arrival(const sc::Arrival& a) {
  switch (a.kind) {
    case sc::Arrival::Kind::rate: return "rate " + sc::format_rate(a.rate_per_s);
    case sc::Arrival::Kind::burst: return "bursts of " + std::to_string(a.burst);
    case sc::Arrival::Kind::ramp:
      return "ramp " + sc::format_rate(a.ramp_from_per_s) + " -> " + sc::format_rate(a.ramp_to_per_s) +
             " over " + sc::format_duration(a.ramp_over);
  }
  return "";
}

std::string describe_phase(const sc::Phase& p, std::chrono::milliseconds wall) {
  std::string s = sc::to_string(p.kind);
  switch (p.kind) {
    case sc::Phase::Kind::connect:
      if (p.arrival) s += " (" + describe_arrival(*p.arrival) + ")";
      break;
    case sc::Phase::Kind::hold:
      s += " " + sc::format_duration(p.duration);
      break;
    case sc::Phase::Kind::storm:
      char share[32];
      std::snprintf(share, sizeof share, " %g%% within ", p.share * 100);
      s += share + sc::format_duration(p.within);
      break;
    case sc::Phase::Kind::churn:
      s += " " + sc::format_rate(p.rate_per_s) + " for " + sc::format_duration(p.duration);
      break;
    case sc::Phase::Kind::teardown: break;
  }
  if ((p.kind == sc::Phase::Kind::hold || p.kind == sc::Phase::Kind::churn) && wall != p.duration) {
    s += " (" + sc::format_duration(wall) + " wall)";
  }
  return s;
}

std::string describe_sa(const sc::EffectiveSa& e, bool ike) {
  std::ostringstream os;
  os << "rekey " << e.rekey_s << "s";
  if (ike && e.reauth_s > 0) os << " reauth " << e.reauth_s << "s";
  os << " life " << e.life_s << "s over " << e.over_s << "s rand " << e.rand_s << "s";
  return os.str();
}

void print_summary(const std::string& file, const sc::Loaded& l) {
  const sc::Scenario& s = l.points.front().scenario;
  std::cout << file << ": ok, scenario '" << s.name << "'\n";
  if (!s.description.empty()) std::cout << "  " << s.description << "\n";
  std::cout << "  backend " << sc::to_string(s.backend) << ", time_scale " << s.time_scale
            << ", seed " << s.seed << "\n";
  std::cout << "  peers: " << s.peers.count << " (" << sc::to_string(s.peers.engine) << ", "
            << sc::to_string(s.peers.family) << ", " << sc::to_string(s.peers.auth) << ", " << sc::resolved_daemons(s)
            << " daemon(s)), arrival " << describe_arrival(s.peers.arrival) << "\n";
  const auto eff = sc::effective(s);
  std::cout << "  phases:";
  for (std::size_t i = 0; i < s.phases.size(); ++i) {
    std::cout << (i ? ", " : " ") << describe_phase(s.phases[i], eff.phase_durations[i]);
  }
  std::cout << "\n  expect:";
  if (s.expect.empty()) std::cout << " nothing";
  for (std::size_t i = 0; i < s.expect.size(); ++i) {
    std::cout << (i ? ", " : " ") << s.expect[i].expr();
  }
  if (s.expect_implied) std::cout << " (implied)";
  std::cout << "\n  sweep: ";
  if (l.sweep_axes.empty()) {
    std::cout << "none";
  } else {
    for (std::size_t i = 0; i < l.sweep_axes.size(); ++i) std::cout << (i ? " x " : "") << l.sweep_axes[i];
  }
  std::cout << " -> " << l.points.size() << " run(s)\n";
  for (std::size_t i = 0; i < l.points.size(); ++i) {
    const auto& p = l.points[i];
    const auto e = sc::effective(p.scenario);
    std::cout << "  run " << i + 1;
    for (const auto& [k, v] : p.parameters) std::cout << " " << k << "=" << v;
    std::cout << ": " << p.scenario.peers.count << " peers\n"
              << "    peers ike   " << describe_sa(e.peers_ike, true) << "\n"
              << "    peers child " << describe_sa(e.peers_child, false) << "\n"
              << "    sut ike     " << describe_sa(e.sut_ike, true) << "\n"
              << "    sut child   " << describe_sa(e.sut_child, false) << "\n";
  }
}

nlohmann::json summary_json(const std::string& file, const sc::Loaded& l) {
  nlohmann::json runs = nlohmann::json::array();
  for (const auto& p : l.points) {
    nlohmann::json expect = nlohmann::json::array();
    for (const auto& e : p.scenario.expect) expect.push_back(e.expr());
    runs.push_back({{"name", p.scenario.name},
                    {"parameters", p.parameters},
                    {"peers", p.scenario.peers.count},
                    {"effective", sc::effective(p.scenario).to_json(p.scenario)},
                    {"expect", expect}});
  }
  return {{"ok", true}, {"file", file}, {"scenario", l.document}, {"sweep", l.sweep_axes},
          {"runs", runs}};
}

int validate_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm validate FILE [--set KEY=VALUE ...] [--peers N] [--json]",
      "Checks a scenario file without running it (no root needed): every key, unit and\n"
      "bound, --set overrides and the sweep. Prints the effective scenario (peers, phases,\n"
      "sweep points, the lifetimes charon gets after time_scale) or every problem as\n"
      "file:line:column: message. Exit 0 when valid, 2 when not.",
      "  ikestorm validate scenarios/smoke.yaml\n"
      "  ikestorm validate scenarios/lifetime-sweep.yaml --set time_scale=30 --json"};
  po::options_description opts("options");
  opts.add_options()("file", po::value<std::string>(), "scenario file")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a key by dotted path, e.g. --set peers.child.rekey_time=5m")(
      "peers", po::value<std::string>(), "number of peers (same as --set peers.count=N)")(
      "json", po::bool_switch(), "print the result as JSON");
  po::positional_options_description pos;
  pos.add("file", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  if (!vm.count("file")) return fail("validate", "missing FILE (try --help)", kExitUsage);
  const std::string file = vm["file"].as<std::string>();
  const bool json = vm["json"].as<bool>();

  std::vector<sc::Override> overrides;
  if (vm.count("set")) {
    for (const auto& s : vm["set"].as<std::vector<std::string>>()) {
      auto ov = sc::parse_set(s);
      if (!ov) return fail("validate", ov.error().message, kExitUsage);
      overrides.push_back(std::move(*ov));
    }
  }
  if (vm.count("peers")) overrides.push_back(sc::peers_override(vm["peers"].as<std::string>()));

  // expect's codes.NAME must name a code of the taxonomy (with "did you mean" for typos).
  std::vector<std::string> code_names;
  for (const auto& c : taxonomy::CodeTable::instance().all()) code_names.push_back(c.name);
  // target: is judged against this host too (interface, prefixes, routes), as run judges it.
  auto out = sc::load_file(file, overrides, code_names, run::target_host_problems);
  if (!out.ok()) {
    if (json) {
      std::cout << nlohmann::json{{"ok", false}, {"file", file},
                                  {"errors", out.diagnostics.to_json()},
                                  {"more_errors", out.diagnostics.dropped()}}
                       .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
    std::cerr << out.diagnostics.str() << "\n";
    const auto n = out.diagnostics.count();
    return fail("validate", std::to_string(n) + " problem" + (n == 1 ? "" : "s") + " in " + file,
                kExitUsage);
  }
  if (json) {
    std::cout << summary_json(file, *out.loaded)
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    print_summary(file, *out.loaded);
  }
  return kExitOk;
}

const CommandRegistrar registrar{
    Command{"validate", "check a scenario file without running it", validate_main, 20}};

}  // namespace
}  // namespace ist::cli
