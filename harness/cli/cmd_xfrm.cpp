// ikestorm xfrm [--netns NAME] [--json] [--details] [--watch [--duration D] [--interval D]] [--raw]
// A namespace's kernel XFRM state: SA and policy counts and /proc/net/xfrm_stat, and with
// --watch its notifications (ACQUIRE, EXPIRE, SA/policy changes) and per-second samples. The
// --json --watch lines are a stable format (harness/xfrm/json_lines.hpp, harness/xfrm/README.md):
// the vm backend runs this command inside its guest to observe the guest's kernel. The output
// and the watch loop are harness/xfrm/console.hpp.
#include <iostream>

#include "cli/command.hpp"
#include "common/event_loop.hpp"
#include "common/named_netns.hpp"
#include "common/signals.hpp"
#include "scenario/units.hpp"
#include "xfrm/console.hpp"

namespace ist::cli {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kCmd = "xfrm";

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
  const auto format = raw ? xfrm::ConsoleFormat::raw : json ? xfrm::ConsoleFormat::json : xfrm::ConsoleFormat::text;
  xfrm::ConsoleWriter out(std::cout, format, ns, t0);

  auto first = sampler->sample(t0);
  if (!first) return fail(kCmd, first.error().describe(), kExitHarnessFault);
  if (auto s = out.snapshot(*first, vm.count("details") ? &sampler->socket() : nullptr, watch); !s)
    return fail(kCmd, s.error().describe(), kExitHarnessFault);
  if (!watch) return kExitOk;

  signals::install_stop_handlers();
  (void)loop.add_fd(signals::stop_fd(), EPOLLIN, [&loop](uint32_t) { loop.stop(); });
  xfrm::WatchOptions w;
  w.interval = *interval;
  w.duration = duration;
  w.stop_requested = [] { return signals::stop_requested(); };
  w.on_malformed = [](const Error& e) { std::cerr << "ikestorm xfrm: malformed message: " << e.describe() << "\n"; };
  if (auto s = xfrm::watch(loop, in, *sampler, t0, w, out); !s)
    return fail(kCmd, s.error().describe(), kExitHarnessFault);
  return kExitOk;
}

CommandRegistrar reg{{"xfrm", "show a namespace's kernel XFRM counts, xfrm_stat and notifications", xfrm_main, 60}};

}  // namespace
}  // namespace ist::cli
