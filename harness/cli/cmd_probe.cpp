// ikestorm probe [--json]: what this host can do, and the backend `auto` would pick.
#include <poll.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "common/probe.hpp"
#include "common/signals.hpp"

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

int probe_main(const std::vector<std::string>& args) {
  Usage usage{"ikestorm probe [--json]",
              "Reports what this host can do for ikestorm: kernel XFRM netlink, ESP states,\n"
              "netem, TUN, nftables, veth, bridge and tbf (each tried for real in a scratch namespace\n"
              "ist-<runid>-probe that is removed again), qemu, a distro kernel and KVM for the\n"
              "vm backend, charon's version and plugins, and the backend `--backend auto`\n"
              "would pick and why. Needs root for the namespace checks.",
              "  ikestorm probe\n  ikestorm probe --json | jq .auto_backend"};
  po::options_description opts("options");
  opts.add_options()("json", "print one JSON object");
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, {}, vm)) return *rc;

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
