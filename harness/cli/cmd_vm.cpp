// ikestorm vm boot: boots the vm backend's guest on its own (for debugging the backend and
// for tests of `clean`): a private namespace ist-<runid>-vm, the guest at 198.18.0.1/30 on
// a tap whose namespace end is 198.18.0.2/30, commands run in it, optionally held until
// SIGINT/SIGTERM or, with --exec-stdin, until its stdin ends (commands read there run in the
// guest meanwhile: a test drives the held guest through a pipe, and its death ends the hold).
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <iostream>
#include <sstream>

#include "cli/command.hpp"
#include "common/log.hpp"
#include "common/run_state.hpp"
#include "common/signals.hpp"
#include "netns/namespace.hpp"
#include "vm/guest.hpp"

namespace ist::cli {
namespace {

constexpr const char* kGuestAddress = "198.18.0.1/30";
constexpr const char* kNamespaceEndAddress = "198.18.0.2/30";

std::vector<std::string> split_words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

Status address_tap(const netns::Namespace& ns, const std::string& tap) {
  IST_TRY_ASSIGN(auto prefix, netns::IpPrefix::parse(kNamespaceEndAddress));
  return ns.add_link_addresses(tap, {prefix});
}

// --exec-stdin: lines from stdin, read as they come (never blocking the hold loop for long).
struct StdinCommands {
  std::string buffer;
  bool ended = false;
  void read_some() {
    char chunk[4096];
    ssize_t n = ::read(STDIN_FILENO, chunk, sizeof chunk);
    if (n > 0) buffer.append(chunk, static_cast<std::size_t>(n));
    else if (n == 0 || (errno != EINTR && errno != EAGAIN)) ended = true;
  }
  bool next(std::string& cmd) {
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      cmd = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (!split_words(cmd).empty()) return true;
    }
    return false;
  }
};

// One stdin command in the guest: its output, then the "vm: done" line a reader waits for.
// False when the guest could not run it at all (it is gone).
bool run_stdin_command(vm::Guest& g, const std::string& cmd) {
  auto r = g.exec(split_words(cmd), std::chrono::seconds(60));
  if (!r) {
    std::cerr << "ikestorm vm: " << cmd << ": " << r.error().describe() << "\n";
    std::cout << "vm: done: " << r.error().describe() << std::endl;
    return false;
  }
  std::cout << "$ " << cmd << "\n" << r->out << r->err;
  std::cout << "vm: done: " << (r->ok() ? std::string("ok") : r->describe()) << std::endl;
  return true;
}

int vm_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm vm boot [--kernel PATH] [--memory MB] [--cpus N] [--accel auto|kvm|tcg] [--exec CMD]... [--kernel-arg ARG]... [--hold [--exec-stdin]]",
      "Boots the vm backend's guest (the stock kernel under qemu, the host root read-only over 9p,\n"
      "a tmpfs overlay, the control agent as PID 1) in a private namespace ist-<runid>-vm, runs\n"
      "each --exec command in it (split at spaces) and prints its output, then shuts it down.\n"
      "--hold keeps it running until SIGINT/SIGTERM (the namespace end of its tap is\n"
      "198.18.0.2/30, the guest 198.18.0.1/30). With --exec-stdin the hold also reads commands\n"
      "from stdin, one a line, runs each in the guest as --exec does and ends its output with a\n"
      "line \"vm: done: ok\" or \"vm: done: <how it failed>\"; the end of stdin ends the hold.\n"
      "`ikestorm clean` removes a guest whose holder was killed. Exit 1 when an --exec command\n"
      "failed, 3 when the guest could not boot or died.",
      "  ikestorm vm boot --exec 'uname -r' --exec 'ip xfrm state count'\n"
      "  ikestorm vm boot --hold"};
  po::options_description opts("Options");
  std::string kernel, accel = "auto";
  unsigned memory = 1024, cpus = 2;
  std::vector<std::string> execs, kernel_args;
  opts.add_options()("kernel", po::value(&kernel), "bzImage (default: newest /boot/vmlinuz-* with modules)")(
      "memory", po::value(&memory)->default_value(1024), "guest memory in MiB")(
      "cpus", po::value(&cpus)->default_value(2), "guest vCPUs")(
      "accel", po::value(&accel)->default_value("auto"), "auto, kvm or tcg")(
      "exec", po::value(&execs)->composing(), "command to run in the guest (repeatable)")(
      "kernel-arg", po::value(&kernel_args)->composing(), "appended to the guest kernel's command line")(
      "hold", "keep the guest until SIGINT/SIGTERM")(
      "exec-stdin", "with --hold: run each line read on stdin in the guest; the end of stdin ends the hold")("action", po::value<std::string>(), "boot");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  if (!vm.count("action") || vm["action"].as<std::string>() != "boot")
    return fail("vm", "the only action is 'boot' (see --help)", kExitUsage);
  vm::GuestOptions o;
  if (accel == "kvm") o.accel = vm::Accel::kvm;
  else if (accel == "tcg") o.accel = vm::Accel::tcg;
  else if (accel != "auto") return fail("vm", "--accel must be auto, kvm or tcg", kExitUsage);
  const bool exec_stdin = vm.count("exec-stdin") > 0;
  if (exec_stdin && !vm.count("hold")) return fail("vm", "--exec-stdin needs --hold", kExitUsage);
  if (::geteuid() != 0) return fail("vm", "needs root (a network namespace and a tap of its own)", kExitUsage);
  signals::install_stop_handlers();

  auto state = RunState::create(new_run_id());
  if (!state) return fail("vm", state.error().describe(), kExitHarnessFault);
  int rc = kExitOk;
  {
    auto ns = netns::Namespace::create(*state, "vm");
    if (!ns) return fail("vm", ns.error().describe(), kExitHarnessFault);
    auto run_dir = state->create_private_dir("vm");
    if (!run_dir) {
      (void)ns->destroy();
      (void)state->remove();
      return fail("vm", run_dir.error().describe(), kExitHarnessFault);
    }
    o.kernel = kernel;
    o.agent_path = vm::default_agent_path();
    o.memory_mb = memory;
    o.cpus = cpus;
    o.extra_kernel_args = kernel_args;
    o.run_dir = *run_dir;
    o.network.netns = &*ns;
    o.network.tap = link_name(state->run_id(), "vm");
    o.network.addresses = {kGuestAddress};
    auto guest = vm::Guest::boot(o, *state);
    if (!guest) {
      (void)ns->destroy();
      (void)state->remove();
      return fail("vm", guest.error().describe(), kExitHarnessFault);
    }
    auto& g = **guest;
    const auto& t = g.timings();
    std::cout << "vm: run " << state->run_id() << ": guest " << g.kernel_release() << " ("
              << vm::accel_name(g.accel()) << ", qemu pid " << g.qemu_pid() << ") ready in " << t.total_s
              << " s (initramfs " << t.initramfs_s << " s" << (t.initramfs_cached ? " cached" : "") << ", boot "
              << t.boot_s << " s, network " << t.network_s << " s); namespace " << ns->name() << ", console "
              << g.console_log_path() << ", agent " << o.agent_path << std::endl;
    if (auto st = address_tap(*ns, o.network.tap); !st) log::warn("vm: addressing the tap: ", st.error().describe());
    for (const auto& cmd : execs) {
      auto r = g.exec(split_words(cmd), std::chrono::seconds(60));
      if (!r) {
        std::cerr << "ikestorm vm: " << cmd << ": " << r.error().describe() << "\n";
        rc = kExitHarnessFault;
        break;
      }
      std::cout << "$ " << cmd << "\n" << r->out << r->err;
      if (!r->ok()) {
        std::cout << "(" << r->describe() << ")\n";
        rc = std::max(rc, kExitExpectationFailed);
      }
    }
    if (vm.count("hold") && rc == kExitOk) {
      std::cout << "vm: holding; SIGINT or SIGTERM" << (exec_stdin ? " or the end of stdin" : "") << " ends it"
                << std::endl;
      pollfd p[2] = {{signals::stop_fd(), POLLIN, 0}, {exec_stdin ? STDIN_FILENO : -1, POLLIN, 0}};
      StdinCommands commands;
      while (!signals::stop_requested() && !commands.ended) {
        ::poll(p, 2, 1000);
        std::string why;
        if (!g.alive(&why)) {
          std::cerr << "ikestorm vm: the guest ended: " << why << "\n";
          rc = kExitHarnessFault;
          break;
        }
        if (!(p[1].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        commands.read_some();
        for (std::string cmd; commands.next(cmd);)
          if (!run_stdin_command(g, cmd)) {
            rc = kExitHarnessFault;
            commands.ended = true;
            break;
          }
      }
    }
    if (auto st = g.shutdown(); !st) std::cerr << "ikestorm vm: " << st.error().describe() << "\n";
    guest->reset();
    if (auto st = ns->destroy(); !st) std::cerr << "ikestorm vm: " << st.error().describe() << "\n";
  }
  if (auto st = state->remove(); !st) std::cerr << "ikestorm vm: " << st.error().describe() << "\n";
  return rc;
}

CommandRegistrar reg({"vm", "boot the vm backend's guest by itself (debugging, clean tests)", vm_main, 80});

}  // namespace
}  // namespace ist::cli
