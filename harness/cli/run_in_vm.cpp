#include "cli/run_in_vm.hpp"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "cli/command.hpp"
#include "common/log.hpp"
#include "common/run_state.hpp"
#include "common/signals.hpp"
#include "netns/namespace.hpp"
#include "vm/guest.hpp"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace ist::cli {
namespace {

constexpr const char* kGuestAddress = "198.18.0.1/30";
constexpr const char* kOutTag = "istout";
constexpr const char* kGuestOut = "/var/lib/ikestorm-in-vm/out";  // the inner run's report folder (guest tmpfs, overlay); not under /run, which charon's private /run hides
constexpr const char* kGuestShare = "/run/ist/host-out";   // the host's --out, over 9p
constexpr const char* kGuestStdout = "/run/ist/run.out";
constexpr const char* kGuestStderr = "/run/ist/run.err";
// After Ctrl-C the inner run tears down and writes its report; then it is killed.
constexpr auto kStopGrace = std::chrono::seconds(120);

// The inner run sees the host's IKESTORM_* settings (IKESTORM_NATIVE_IO, test hooks).
std::vector<std::string> forwarded_env() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).rfind("IKESTORM_", 0) == 0) env.emplace_back(*e);
  return env;
}

// Prints what a growing guest file gained since `offset`.
void relay(vm::Guest& g, const char* path, std::size_t& offset, std::ostream& to) {
  auto text = g.read_file(path);
  if (!text || text->size() <= offset) return;
  to << text->substr(offset);
  to.flush();
  offset = text->size();
}

class InVm {
 public:
  explicit InVm(const InVmRun& r) : r_(r) {}
  int run();

 private:
  int drive(vm::Guest& g);
  int copy_back(vm::Guest& g);

  const InVmRun& r_;
};

int InVm::drive(vm::Guest& g) {
  std::error_code ec;
  const std::string self = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) return fail("run", "--in-vm: finding this program: " + ec.message(), kExitHarnessFault);
  // sh only splits the two streams: `exec` leaves ikestorm as the process the agent signals.
  vm::SpawnRequest req;
  req.argv = {"/bin/sh", "-c", std::string("exec \"$@\" 2>") + kGuestStderr, "sh", self, "run"};
  req.argv.insert(req.argv.end(), r_.inner_args.begin(), r_.inner_args.end());
  req.argv.insert(req.argv.end(), {"--out", kGuestOut});
  req.env = forwarded_env();
  req.log_path = kGuestStdout;
  req.cwd = r_.cwd;
  auto id = g.spawn(req);
  if (!id) return fail("run", "--in-vm: starting the run in the guest: " + id.error().describe(), kExitHarnessFault);

  std::size_t out_off = 0, err_off = 0;
  std::optional<Clock::time_point> stop_sent;
  int rc = kExitHarnessFault;
  pollfd p{signals::stop_fd(), POLLIN, 0};
  for (;;) {
    relay(g, kGuestStdout, out_off, std::cout);
    relay(g, kGuestStderr, err_off, std::cerr);
    auto st = g.poll(*id);
    if (!st) {
      log::error("--in-vm: the guest stopped answering: ", st.error().describe());
      return kExitHarnessFault;
    }
    if (!st->running) {
      relay(g, kGuestStdout, out_off, std::cout);
      relay(g, kGuestStderr, err_off, std::cerr);
      if (st->status.exited) rc = st->status.code;
      else log::error("--in-vm: the run in the guest ", st->status.describe());
      break;
    }
    if (signals::stop_requested() && !stop_sent) {
      // The inner run handles SIGINT as on the host: it tears down and writes its report.
      if (auto s = g.signal(*id, SIGINT); !s) log::warn("--in-vm: ", s.error().describe());
      stop_sent = Clock::now();
    }
    if (stop_sent && Clock::now() - *stop_sent > kStopGrace) {
      log::error("--in-vm: the run in the guest did not end within ", kStopGrace.count(), " s of the stop; killing it");
      (void)g.signal(*id, SIGKILL);
      stop_sent = Clock::now() + std::chrono::hours(1);  // do not kill again
    }
    // Once the stop was passed on, the stop fd stays readable: just wait.
    ::poll(stop_sent ? nullptr : &p, stop_sent ? 0 : 1, 500);
  }
  return std::max(rc, copy_back(g));
}

// The inner report folder, copied to the host's --out in one go (cp in the guest, onto the
// share): the run itself never writes over 9p.
int InVm::copy_back(vm::Guest& g) {
  if (auto st = g.mount_share(kOutTag, kGuestShare); !st) {
    log::error("--in-vm: mounting the report folder's share: ", st.error().describe());
    return kExitHarnessFault;
  }
  // charon's vici sockets stay in the daemons' folders; a socket cannot be made over 9p.
  (void)g.exec({"/usr/bin/find", kGuestOut, "-type", "s", "-delete"}, std::chrono::seconds(60));
  auto cp = g.exec({"/bin/cp", "-R", std::string(kGuestOut) + "/.", kGuestShare}, std::chrono::seconds(300));
  int rc = kExitOk;
  if (!cp || !cp->ok()) {
    log::error("--in-vm: copying the report folder out of the guest: ",
               cp ? cp->describe() : cp.error().describe());
    rc = kExitHarnessFault;
  }
  (void)g.exec({"/bin/umount", kGuestShare}, std::chrono::seconds(30));
  if (rc == kExitOk) std::cout << "report copied from the guest: " << r_.out << "/report.json" << std::endl;
  return rc;
}

int InVm::run() {
  auto state = RunState::create(new_run_id());
  if (!state) return fail("run", state.error().describe(), kExitHarnessFault);
  int rc = kExitHarnessFault;
  {
    auto ns = netns::Namespace::create(*state, "vm");
    if (!ns) {
      (void)state->remove();
      return fail("run", ns.error().describe(), kExitHarnessFault);
    }
    auto run_dir = state->create_private_dir("vm");
    if (!run_dir) {
      (void)ns->destroy();
      (void)state->remove();
      return fail("run", run_dir.error().describe(), kExitHarnessFault);
    }
    vm::GuestOptions o;
    o.agent_path = vm::default_agent_path();
    o.memory_mb = r_.memory_mb;
    o.cpus = r_.cpus;
    o.run_dir = *run_dir;
    o.network.netns = &*ns;
    o.network.tap = link_name(state->run_id(), "vm");
    o.network.addresses = {kGuestAddress};
    o.shares = {{r_.out, kOutTag}};
    // The whole run's timeouts (probe commands, deadlines, retransmits) run on the guest's
    // clock. Under TCG on a loaded host the kernel's TSC calibration can come out wrong (seen:
    // 10 s guest timeouts expiring within 10 s of host time, including the boot); HPET is
    // emulated from the host's clock and needs no calibration.
    o.extra_kernel_args = {"clocksource=hpet"};
    std::cerr << "in-vm: run " << state->run_id() << ": booting the guest" << std::endl;
    auto guest = vm::Guest::boot(o, *state);
    if (!guest) {
      (void)ns->destroy();
      (void)state->remove();
      return fail("run", "--in-vm: " + guest.error().describe(), kExitHarnessFault);
    }
    auto& g = **guest;
    std::cerr << "in-vm: guest " << g.kernel_release() << " (" << vm::accel_name(g.accel()) << ", " << r_.cpus
              << " vCPU, qemu pid " << g.qemu_pid() << ") ready in " << g.timings().total_s << " s" << std::endl;
    rc = drive(g);
    if (auto st = g.shutdown(); !st) {
      log::error("--in-vm: ", st.error().describe());
      rc = std::max(rc, kExitHarnessFault);
    }
    guest->reset();
    if (auto st = ns->destroy(); !st) {
      log::error("--in-vm: ", st.error().describe());
      rc = std::max(rc, kExitLeak);
    }
  }
  if (auto st = state->remove(); !st) log::error("--in-vm: ", st.error().describe());
  return rc;
}

}  // namespace

int run_in_vm(const InVmRun& request) { return InVm(request).run(); }

}  // namespace ist::cli
