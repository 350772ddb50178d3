// ikestorm xfrm [--netns NAME] [--json] [--details] [--watch [--duration D] [--interval D]] [--raw]
// A namespace's kernel XFRM state: SA and policy counts and /proc/net/xfrm_stat, and with
// --watch its notifications (ACQUIRE, EXPIRE, SA/policy changes) and per-second samples. The
// --json --watch lines are a stable format (harness/xfrm/json_lines.hpp, harness/xfrm/README.md):
// the vm backend runs this command inside its guest to observe the guest's kernel.
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/command.hpp"
#include "common/event_loop.hpp"
#include "common/named_netns.hpp"
#include "common/signals.hpp"
#include "scenario/units.hpp"
#include "xfrm/json_lines.hpp"
#include "xfrm/monitor.hpp"
#include "xfrm/sampler.hpp"

namespace ist::cli {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kCmd = "xfrm";

std::string hex(std::span<const uint8_t> b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) {
    s.push_back(digits[c >> 4]);
    s.push_back(digits[c & 15]);
  }
  return s;
}

void print_snapshot_text(const xfrm::Counts& c, const xfrm::XfrmStat& stat, const std::string& ns) {
  std::cout << "namespace " << (ns.empty() ? "(current)" : ns) << "\n"
            << "SAs        " << c.sas << "\n"
            << "policies   in " << c.policies.in << "  out " << c.policies.out << "  fwd " << c.policies.fwd
            << "  (socket: in " << c.policies.in_socket << " out " << c.policies.out_socket << " fwd "
            << c.policies.fwd_socket << ")\n"
            << "xfrm_stat\n";
  for (const auto& [k, v] : stat) std::cout << "  " << std::left << std::setw(24) << k << " " << v << "\n";
  std::cout << std::flush;
}

Result<std::chrono::milliseconds> duration_option(const po::variables_map& vm, const char* name) {
  auto parsed = scenario::parse_duration(vm[name].as<std::string>());
  if (auto* why = std::get_if<std::string>(&parsed))
    return Error("--" + std::string(name) + " '" + vm[name].as<std::string>() + "': " + *why);
  auto d = std::get<std::chrono::milliseconds>(parsed);
  if (d.count() <= 0) return Error("--" + std::string(name) + " must be more than 0");
  return d;
}

int xfrm_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm xfrm [--netns NAME] [--json] [--details] [--watch [--duration D] [--interval D]] [--raw]",
      "Shows a network namespace's kernel XFRM state: the number of SAs (larval ones\n"
      "included) and of policies per direction, and the /proc/net/xfrm_stat counters.\n"
      "With --watch it stays and streams the kernel's XFRM notifications (ACQUIRE, soft and\n"
      "hard EXPIRE, SAs and policies added/updated/deleted, policy expiry, flushes) and, every\n"
      "--interval, a sample line with the counts and the xfrm_stat changes since the last one.\n"
      "\n"
      "--json prints one JSON object per line in a stable format, documented in\n"
      "harness/xfrm/README.md: {\"t_ms\":..,\"kind\":\"snapshot\"|\"acquire\"|\"expire\"|\"new_sa\"|\n"
      "\"delete_sa\"|...|\"sample\"|\"loss\"|\"end\",...}. --raw prints each received netlink datagram\n"
      "as a hex line instead (for recording test fixtures). --details adds the SA and policy\n"
      "lists to the snapshot. Durations take ms, s, m, h (a bare number is seconds).\n"
      "\n"
      "Needs root (CAP_NET_ADMIN). Exit codes: 0 done, 2 bad arguments or no such namespace,\n"
      "3 the kernel refused (no XFRM netlink, not privileged).",
      "  ikestorm xfrm --netns ist-1a2b3c-sut\n"
      "  ikestorm xfrm --netns ist-1a2b3c-sut --json --details\n"
      "  ikestorm xfrm --netns ist-1a2b3c-peers --watch --json --duration 30s"};
  po::options_description opts("options");
  opts.add_options()
      ("netns", po::value<std::string>(), "named network namespace (/run/netns/NAME); default: the current one")
      ("json", "JSON lines instead of text")
      ("details", "also list every SA and policy (a netlink dump)")
      ("watch", "stream notifications and samples until Ctrl-C or --duration")
      ("duration", po::value<std::string>(), "with --watch: stop after this long")
      ("interval", po::value<std::string>()->default_value("1s"), "with --watch: time between samples")
      ("raw", "with --watch: print each netlink datagram as hex (fixture recording)");
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, {}, vm)) return *rc;

  const bool json = vm.count("json") > 0;
  const bool watch = vm.count("watch") > 0;
  const bool raw = vm.count("raw") > 0;
  const std::string ns = vm.count("netns") ? vm["netns"].as<std::string>() : "";
  if (!watch && (vm.count("duration") || raw)) return fail(kCmd, "--duration and --raw need --watch", kExitUsage);
  std::optional<std::chrono::milliseconds> duration;
  if (vm.count("duration")) {
    auto d = duration_option(vm, "duration");
    if (!d) return fail(kCmd, d.error().describe(), kExitUsage);
    duration = *d;
  }
  auto interval = duration_option(vm, "interval");
  if (!interval) return fail(kCmd, interval.error().describe(), kExitUsage);
  if (!ns.empty() && (ns.find('/') != std::string::npos || ns == "." || ns == ".."))
    return fail(kCmd, "--netns takes a name from /run/netns, not a path: '" + ns + "'", kExitUsage);
  if (!ns.empty() && !named_netns_exists(ns))
    return fail(kCmd, "no network namespace '" + ns + "' (see `ip netns list`)", kExitUsage);

  const xfrm::NetnsRunner in = ns.empty() ? xfrm::current_netns_runner() : xfrm::named_netns_runner(ns);
  auto sampler = xfrm::Sampler::open(in);
  if (!sampler) return fail(kCmd, sampler.error().describe(), kExitHarnessFault);
  EventLoop loop;
  if (!loop.valid()) return fail(kCmd, "cannot create an epoll loop", kExitHarnessFault);
  const MonoTime t0 = loop.clock().now();

  auto first = sampler->sample(t0);
  if (!first) return fail(kCmd, first.error().describe(), kExitHarnessFault);
  if (json) {
    auto j = xfrm::snapshot_json(first->counts, first->xfrm_stat, ns);
    if (watch) j["t_ms"] = 0;
    if (vm.count("details")) {
      auto sas = sampler->socket().dump_sas();
      auto pols = sampler->socket().dump_policies();
      if (!sas) return fail(kCmd, sas.error().describe(), kExitHarnessFault);
      if (!pols) return fail(kCmd, pols.error().describe(), kExitHarnessFault);
      j["sas"] = nlohmann::ordered_json::array();
      for (const auto& s : *sas) j["sas"].push_back(xfrm::to_json(s));
      j["policy_list"] = nlohmann::ordered_json::array();
      for (const auto& p : *pols) j["policy_list"].push_back(xfrm::to_json(p));
    }
    if (!raw) std::cout << j.dump() << std::endl;
  } else if (!raw) {
    print_snapshot_text(first->counts, first->xfrm_stat, ns);
    if (vm.count("details")) {
      auto sas = sampler->socket().dump_sas();
      auto pols = sampler->socket().dump_policies();
      if (!sas) return fail(kCmd, sas.error().describe(), kExitHarnessFault);
      if (!pols) return fail(kCmd, pols.error().describe(), kExitHarnessFault);
      std::cout << "SA list\n";
      for (const auto& s : *sas) std::cout << "  " << xfrm::to_json(s).dump() << "\n";
      std::cout << "policy list\n";
      for (const auto& p : *pols) std::cout << "  " << xfrm::to_json(p).dump() << "\n";
    }
  }
  if (!watch) return kExitOk;

  signals::install_stop_handlers();
  (void)loop.add_fd(signals::stop_fd(), EPOLLIN, [&loop](uint32_t) { loop.stop(); });

  int rc = kExitOk;
  auto take_sample = [&] {
    auto s = sampler->sample(loop.clock().now());
    if (!s) {
      std::cerr << "ikestorm xfrm: sampling: " << s.error().describe() << "\n";
      rc = kExitHarnessFault;
      loop.stop();
      return;
    }
    if (raw) return;
    if (json) {
      std::cout << xfrm::sample_json(*s, t0, ns).dump() << std::endl;
    } else {
      std::ostringstream o;
      o << std::fixed << std::setprecision(3) << ms_between(t0, s->t) / 1000.0 << "s sample: " << s->counts.sas
        << " SAs, policies in " << s->counts.policies.in << " out " << s->counts.policies.out << " fwd "
        << s->counts.policies.fwd;
      for (const auto& [k, v] : s->xfrm_stat_delta) o << ", " << k << " " << (v > 0 ? "+" : "") << v;
      std::cout << o.str() << std::endl;
    }
  };

  xfrm::Monitor::Callbacks cb;
  cb.on_event = [&](const xfrm::Event& e) {
    if (raw) return;
    if (json)
      std::cout << xfrm::event_json(e, t0, ns).dump() << std::endl;
    else
      std::cout << std::fixed << std::setprecision(3) << ms_between(t0, e.t) / 1000.0 << "s "
                << xfrm::describe(e.msg.body) << std::endl;
  };
  cb.on_loss = [&](uint64_t losses) {
    if (json && !raw)
      std::cout << nlohmann::ordered_json{{"t_ms", static_cast<int64_t>(ms_between(t0, loop.clock().now()))},
                                  {"kind", "loss"}, {"ns", ns}, {"losses", losses}}.dump()
                << std::endl;
    else if (!raw)
      std::cout << "notifications lost (kernel buffer overrun, " << losses << " so far); resyncing" << std::endl;
    take_sample();  // counts from the kernel, not from the events we missed
  };
  cb.on_malformed = [](const Error& e) { std::cerr << "ikestorm xfrm: malformed message: " << e.describe() << "\n"; };
  if (raw) cb.on_datagram = [](std::span<const uint8_t> d) { std::cout << hex(d) << std::endl; };
  auto monitor = xfrm::Monitor::start(loop, in, std::move(cb));
  if (!monitor) return fail(kCmd, monitor.error().describe(), kExitHarnessFault);

  const auto every = *interval;
  auto tick = std::make_shared<std::function<void()>>();
  *tick = [&, tick, every] {
    take_sample();
    loop.after(every, *tick);
  };
  loop.after(every, *tick);
  const auto deadline = duration ? t0 + *duration : MonoTime::max();
  auto r = loop.run_until([] { return signals::stop_requested(); }, deadline);
  *tick = nullptr;
  if (!r) return fail(kCmd, r.error().describe(), kExitHarnessFault);
  const auto& st = (*monitor)->stats();
  if (json && !raw)
    std::cout << nlohmann::ordered_json{{"t_ms", static_cast<int64_t>(ms_between(t0, loop.clock().now()))},
                                {"kind", "end"}, {"ns", ns}, {"events", st.events}, {"losses", st.losses},
                                {"malformed", st.malformed}}.dump()
              << std::endl;
  return rc;
}

CommandRegistrar reg{{"xfrm", "show a namespace's kernel XFRM counts, xfrm_stat and notifications", xfrm_main, 60}};

}  // namespace
}  // namespace ist::cli
