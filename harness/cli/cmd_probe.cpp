// ikestorm probe [--json]: what this host can do, and the backend `auto` would pick.
// ikestorm probe --target ADDRESS --interface IF --local A/N --peers PREFIX [--json]: what an
// external gateway answers to one IKE_SA_INIT (run/target_probe.hpp).
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "common/probe.hpp"
#include "common/signals.hpp"
#include "netns/ip_address.hpp"
#include "run/target_probe.hpp"

namespace ist::cli {
namespace {

// Test hook (tests/e2e/test_clean.py): IKESTORM_TEST_PAUSE_IN_PROBE=<seconds> holds the probe
// while its scratch namespace exists, so a test can kill it there.
int pause_seconds() {
  const char* v = std::getenv("IKESTORM_TEST_PAUSE_IN_PROBE");
  if (!v || !*v) return 0;
  return std::clamp(std::atoi(v), 0, 600);
}

void pause_with_scratch(int seconds, const std::string& run_id, const std::string& ns) {
  std::cerr << "ikestorm probe: run " << run_id << ": pausing " << seconds
            << " s with scratch namespace " << ns << " (IKESTORM_TEST_PAUSE_IN_PROBE)" << std::endl;
  pollfd p{signals::stop_fd(), POLLIN, 0};
  // Ends early on SIGINT/SIGTERM so the namespace is still removed in order.
  while (::poll(&p, 1, seconds * 1000) < 0 && errno == EINTR && !signals::stop_requested()) {
  }
}

nlohmann::json check_json(const probe::Check& c) {
  return {{"available", c.available}, {"detail", c.detail}};
}

nlohmann::json to_json(const probe::HostCapabilities& caps, const std::string& backend,
                       const std::string& reason) {
  nlohmann::json j;
  j["kernel"] = caps.kernel;
  j["xfrm_netlink"] = check_json(caps.xfrm_netlink);
  j["esp"] = check_json(caps.esp);
  j["netem"] = check_json(caps.netem);
  j["tun"] = check_json(caps.tun);
  j["nftables"] = check_json(caps.nftables);
  j["veth"] = check_json(caps.veth);
  j["bridge"] = check_json(caps.bridge);
  j["tbf"] = check_json(caps.tbf);
  j["qemu"] = check_json(caps.qemu);
  j["qemu"]["path"] = caps.qemu_path;
  j["vm_kernel"] = check_json(caps.vm_kernel);
  j["vm_kernel"]["path"] = caps.vm_kernel_path;
  j["kvm"] = check_json(caps.kvm);
  {
    std::string accel;
    j["vm"] = check_json(probe::vm_backend_usable(caps, &accel));
    j["vm"]["accel"] = accel;
  }
  j["charon"] = check_json(caps.charon);
  j["charon"]["path"] = caps.charon_path;
  j["charon"]["version"] = caps.charon_version;
  j["plugin_dir"] = caps.plugin_dir;
  j["plugins"] = nlohmann::json::object();
  for (const auto& p : caps.plugins) j["plugins"][p.name] = p.present;
  j["auto_backend"] = backend;
  j["auto_backend_reason"] = reason;
  j["run_id"] = caps.run_id;
  j["problems"] = caps.problems;
  return j;
}

void print_human(const probe::HostCapabilities& caps, const std::string& backend,
                 const std::string& reason) {
  auto row = [](std::string name, bool yes, const std::string& detail) {
    name.resize(std::max<std::size_t>(name.size(), 22), ' ');
    std::cout << name << "  " << (yes ? "yes" : "no ") << "  " << detail << "\n";
  };
  std::cout << "kernel                  " << caps.kernel << "\n";
  row("xfrm-netlink", caps.xfrm_netlink.available, caps.xfrm_netlink.detail);
  row("esp", caps.esp.available, caps.esp.detail);
  row("netem", caps.netem.available, caps.netem.detail);
  row("tun", caps.tun.available, caps.tun.detail);
  row("nftables", caps.nftables.available, caps.nftables.detail);
  row("veth", caps.veth.available, caps.veth.detail);
  row("bridge", caps.bridge.available, caps.bridge.detail);
  row("tbf", caps.tbf.available, caps.tbf.detail);
  row("qemu", caps.qemu.available, caps.qemu.detail);
  row("vm-kernel", caps.vm_kernel.available, caps.vm_kernel.detail);
  row("kvm", caps.kvm.available, caps.kvm.detail);
  {
    auto vm_check = probe::vm_backend_usable(caps);
    row("vm", vm_check.available, vm_check.detail);
  }
  row("charon", caps.charon.available, caps.charon.detail);
  for (const auto& p : caps.plugins)
    row("plugin " + p.name, p.present, p.present ? "" : "missing in " + caps.plugin_dir);
  std::cout << "backend auto            " << (backend.empty() ? "none" : backend) << ": " << reason << "\n";
}

void print_target(const run::TargetProbeOptions& o, const run::TargetProbeResult& r) {
  std::cout << "target      " << netns::host_port(o.target, 500) << " from " << r.from << " (a macvlan of " << o.interface
            << " holding " << o.local.str() << ")\n";
  std::cout << "answer      " << run::to_string(r.answer);
  if (r.answer == run::ProbeAnswer::nothing)
    std::cout << " within " << o.wait.count() / 1000.0
              << " s: nothing listens on " << netns::host_port(o.target, 500) << ", it drops the request, or its answer to "
              << r.from << " does not come back (its route to " << o.peers.str() << " via "
              << o.local.address.str() << ")";
  else if (!r.detail.empty())
    std::cout << ": " << r.detail;
  std::cout << "\n";
  if (r.rtt_ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f ms", *r.rtt_ms);
    std::cout << "round trip  " << buf << "\n";
  }
  std::cout << "vendor IDs  ";
  for (std::size_t i = 0; i < r.vendor_ids.size(); ++i) std::cout << (i ? ", " : "") << r.vendor_ids[i];
  std::cout << (r.vendor_ids.empty() ? "none\n" : "\n");
  std::cout << "route back  " << r.route_back;
  if (r.route_back == "works")
    std::cout << ": the answer reached " << r.from << ", so the gateway routes " << o.peers.str() << " back via "
              << o.local.address.str();
  std::cout << "\n";
  for (const auto& n : r.notes) std::cout << "note        " << n << "\n";
}

// --target mode: the host checks, one IKE_SA_INIT through the target topology, the answer.
int probe_target_main(const po::variables_map& vm) {
  for (const char* need : {"interface", "local", "peers"})
    if (!vm.count(need))
      return fail("probe", std::string("--target needs --") + need + " (see --help)", kExitUsage);
  run::TargetProbeOptions o;
  o.interface = vm["interface"].as<std::string>();
  auto target = netns::IpAddress::parse(vm["target"].as<std::string>());
  auto local = netns::IpPrefix::parse(vm["local"].as<std::string>());
  auto peers = netns::IpPrefix::parse(vm["peers"].as<std::string>());
  // One family throughout, the target's: IPv4 or IPv6.
  const bool v6 = target && target->family == AF_INET6;
  if (!target || vm["target"].as<std::string>().find('/') != std::string::npos)
    return fail("probe", "--target: an IPv4 or IPv6 address like 198.18.100.1 or 2001:2:100::1", kExitUsage);
  const int family = target->family;
  const std::string of = v6 ? " (IPv6, as --target is)" : " (IPv4, as --target is)";
  if (!local || local->address.family != family || vm["local"].as<std::string>().find('/') == std::string::npos)
    return fail("probe", "--local: an address with its network's prefix length, like " +
                             std::string(v6 ? "2001:2:100::50/64" : "198.18.100.50/24") + of, kExitUsage);
  if (!peers || peers->address.family != family || vm["peers"].as<std::string>().find('/') == std::string::npos)
    return fail("probe", "--peers: a prefix like " + std::string(v6 ? "2001:2:4000::/64" : "198.19.0.0/17") + of,
                kExitUsage);
  o.target = *target;
  o.local = *local;
  o.peers = *peers;
  if (::geteuid() != 0)
    return fail("probe", "--target needs root: it creates a network namespace (try sudo)", kExitHarnessFault);
  signals::install_stop_handlers();
  auto r = run::probe_target(o);
  if (!r) {
    const bool refused = r.error().errno_value == EINVAL;
    if (refused) {
      std::cerr << r.error().message << "\n";
      return fail("probe", "nothing was created or sent", kExitUsage);
    }
    return fail("probe", r.error().describe(), kExitHarnessFault);
  }
  if (vm.count("json")) {
    auto j = r->to_json();
    j["target"] = o.target.str();
    j["interface"] = o.interface;
    j["local"] = o.local.str();
    j["peers"] = o.peers.str();
    std::cout << j.dump(2) << "\n";
  } else {
    print_target(o, *r);
  }
  if (signals::stop_requested()) return 128 + signals::stop_signal();
  const bool answered = r->answer == run::ProbeAnswer::proposal || r->answer == run::ProbeAnswer::cookie;
  return answered ? kExitOk : kExitExpectationFailed;
}

int probe_main(const std::vector<std::string>& args) {
  Usage usage{"ikestorm probe [--json]\n"
              "       ikestorm probe --target ADDRESS --interface IF --local A/N --peers PREFIX [--json]",
              "Reports what this host can do for ikestorm: kernel XFRM netlink, ESP states,\n"
              "netem, TUN, nftables, veth, bridge and tbf (each tried for real in a scratch namespace\n"
              "ist-<runid>-probe that is removed again), qemu, a distro kernel and KVM for the\n"
              "vm backend, charon's version and plugins, and the backend `--backend auto`\n"
              "would pick and why. Needs root for the namespace checks.\n"
              "\n"
              "With --target: asks an external gateway (a scenario's target:) whether it would\n"
              "talk to ikestorm, without load. After the same host checks as `run` (exit 2 and\n"
              "nothing created when they fail) it builds the target topology (namespace\n"
              "ist-<runid>-peers with a macvlan of IF holding A/N, journaled, removed again),\n"
              "sends ONE IKE_SA_INIT (the native engine's proposal) from the first address of\n"
              "PREFIX to ADDRESS:500 and reports what came back within 5 s: the proposal\n"
              "chosen, NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD, COOKIE or nothing; the round\n"
              "trip; the vendor IDs it sent (strongSwan's named); and whether its route back\n"
              "to PREFIX works (the answer reached the peer address). Nothing is retransmitted;\n"
              "when nothing came back it says whether anybody answers ARP for ADDRESS, and\n"
              "when somebody does it sends the request once more from A/N: an answer there\n"
              "means the gateway's route back to PREFIX is broken.\n"
              "Exit codes: 0 it answered with a proposal or a COOKIE; 1 it refused (a notify),\n"
              "answered garbage or nothing; 2 bad arguments or host checks; 3 harness fault.\n"
              "For example, on a host whose eth1 faces the gateway:\n"
              "    ikestorm probe --target 198.18.100.1 --interface eth1 --local 198.18.100.50/24 \\\n"
              "        --peers 198.19.0.0/17",
              "  ikestorm probe\n  ikestorm probe --json | jq .auto_backend"};
  po::options_description opts("options");
  opts.add_options()("json", "print one JSON object")
      ("target", po::value<std::string>(), "ADDRESS: the gateway's IKE address (IPv4 or IPv6; --local and --peers of its family)")
      ("interface", po::value<std::string>(), "with --target: the host interface on the gateway's network")
      ("local", po::value<std::string>(), "with --target: an unused address there, A/N")
      ("peers", po::value<std::string>(), "with --target: the peers' prefix; the probe leaves from its first address");
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, {}, vm)) return *rc;
  if (vm.count("target")) return probe_target_main(vm);
  for (const char* only : {"interface", "local", "peers"})
    if (vm.count(only)) return fail("probe", std::string("--") + only + " goes with --target", kExitUsage);

  signals::install_stop_handlers();
  probe::ProbeOptions options;
  if (int secs = pause_seconds(); secs > 0)
    options.on_scratch_ready = [secs](const std::string& id, const std::string& ns) {
      pause_with_scratch(secs, id, ns);
    };
  auto caps = probe::probe_host(options);
  std::string reason;
  auto backend = probe::auto_backend(caps, &reason);

  if (vm.count("json")) {
    std::cout << to_json(caps, backend, reason).dump(2) << "\n";
  } else {
    print_human(caps, backend, reason);
  }
  for (const auto& p : caps.problems) std::cerr << "ikestorm probe: " << p << "\n";
  if (signals::stop_requested()) return 128 + signals::stop_signal();
  return caps.problems.empty() ? kExitOk : kExitHarnessFault;
}

CommandRegistrar reg({"probe", "report what this host can do and which backend auto picks",
                      &probe_main, 10});

}  // namespace
}  // namespace ist::cli
