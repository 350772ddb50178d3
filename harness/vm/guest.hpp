#pragma once
// A qemu guest running a stock distro kernel, for the `vm` backend: real kernel XFRM (ESP)
// on hosts whose own kernel has none.
//
//   host namespace                 network namespace `network.netns` (e.g. ist-<runid>-sut)
//   ------------------------------  ---------------------------------------------------------
//   run_dir/control.sock  <-------> qemu-system-x86_64 (journaled process; TCG or KVM)
//   run_dir/console.log               tap `network.tap` (made by qemu, gone with it) -> bridge
//   initramfs cache                   guest eth0 <-> tap; guest lo
//
// Guest side: an initramfs (busybox-static + the kernel's virtio/9p/overlay/IPsec modules +
// the static control agent ist-vm-agent) mounts the host's root read-only over virtio-9p
// with a tmpfs overlay on top (fresh tmpfs on /run and /tmp), switch_roots into it and runs
// the agent as PID 1. Every host program (charon, ip, swanctl) is therefore available in the
// guest at its usual path, running on the guest's kernel. The agent answers framed requests
// on a virtio-serial port (protocol.hpp): exec, spawn/signal/poll a background process,
// read/write a file, shutdown. Every call has a timeout; a dead guest is an Error, never a
// hang.
//
// Files written on the host before the guest reads them are seen in the guest; the 9p mount
// caches, so later host-side changes may not be. Writes in the guest stay in the guest (its
// tmpfs): use write_file()/read_file(). Do not log over 9p in a hot path (there is no 9p
// write path anyway: the lower layer is read-only).
#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/child_process.hpp"
#include "common/result.hpp"
#include "common/run_state.hpp"
#include "common/unique_fd.hpp"
#include "netns/namespace.hpp"

namespace ist::vm {

enum class Accel {
  automatic,  // KVM only where it is proven to boot a kernel (probe), TCG otherwise
  kvm,
  tcg,
};

struct GuestNetwork {
  // Network namespace qemu runs in and the tap lives in (never the host namespace); required,
  // must outlive the Guest (e.g. &topology.sut_ns()).
  const netns::Namespace* netns = nullptr;
  // Tap interface name (<= 15 chars, e.g. link_name(run_id, "vm")); qemu creates it inside
  // `netns` and it disappears with qemu.
  std::string tap;
  // Bridge in `netns` the tap is enslaved to; empty: the tap is only set up.
  std::string bridge;
  // Guest eth0 addresses ("198.18.0.1/30", "2001:2::1/64"), guest lo addresses, and routes as
  // `ip route add` arguments ("198.19.0.0/16 via 198.18.0.2"). Applied before boot() returns.
  std::vector<std::string> addresses;
  std::vector<std::string> lo_addresses;
  std::vector<std::string> routes;
  // Guest sysctls set before boot() returns, "net.core.rmem_max=8388608".
  std::vector<std::string> sysctls;
  std::string mac;  // empty: a locally administered MAC derived from `tap`
};

// A host folder the guest may write to, over its own virtio-9p device (mount it in the guest
// with mount_share()). For copying results out at the end, not for hot-path writes.
struct GuestShare {
  std::string host_path;  // an existing folder
  std::string tag;        // 9p mount tag, e.g. "istout"
};

struct GuestOptions {
  std::string kernel;       // bzImage; empty: newest /boot/vmlinuz-* with its modules
  std::string modules_dir;  // empty: /lib/modules/<release read from the kernel image>
  std::string cache_dir;    // initramfs cache; empty: /var/cache/ikestorm/vm
  std::string agent_path;   // static ist-vm-agent; empty: default_agent_path()
  std::string busybox_path = "/bin/busybox";  // must be static (busybox-static)
  std::string qemu_path;    // empty: qemu-system-x86_64 on PATH
  // Folder for this guest's files (control.sock, console.log, qemu.log). Must exist; keep it
  // short: the control socket path must fit in 107 bytes.
  std::string run_dir;
  GuestNetwork network;
  unsigned memory_mb = 1024;
  unsigned cpus = 2;
  Accel accel = Accel::automatic;
  std::chrono::milliseconds boot_timeout{60000};  // qemu start to agent ready + network set up
  std::vector<std::string> extra_modules;      // preloaded besides the built-in list (names)
  // Let the guest kernel autoload modules that were not preloaded (busybox modprobe, ~1 s a
  // lookup under TCG; the crypto API looks up every algorithm name). Off: an algorithm whose
  // module is not preloaded is refused (charon logs the failed SA install); add it to
  // extra_modules instead.
  bool module_autoload = false;
  std::vector<std::string> extra_kernel_args;  // appended to the kernel command line
  std::vector<GuestShare> shares;              // writable host folders
};

struct ExecResult {
  ExitStatus status;
  std::string out;  // stdout, at most max_output bytes
  std::string err;  // stderr, at most max_output bytes
  bool truncated = false;
  bool timed_out = false;  // the agent killed it at the timeout
  bool ok() const { return !timed_out && status.exited && status.code == 0; }
  std::string describe() const;  // "exited with 1: <first line of stderr>"
};

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] absolute path (in the guest, i.e. the host's path)
  std::vector<std::string> env;   // "K=V" added to the agent's environment (PATH, HOME set)
  std::string log_path;           // stdout+stderr in the guest (e.g. /run/charon.out); empty: /dev/null
  std::string cwd;                // empty: /
};

using BackgroundId = std::uint32_t;

struct BackgroundState {
  pid_t guest_pid = -1;
  bool running = false;
  ExitStatus status;  // when !running
};

struct BootTimings {
  double initramfs_s = 0;  // building (or finding cached) the initramfs and unpacked kernel
  double boot_s = 0;       // qemu start to the agent's first answer
  double network_s = 0;    // addresses, routes, sysctls
  double total_s = 0;      // boot() call to return
  bool initramfs_cached = false;
};

class Guest {
 public:
  // Builds or reuses the initramfs, starts qemu inside options.network.netns (journaled in
  // `state` as a process so `ikestorm clean` stops it after a SIGKILL), enslaves the tap,
  // waits for the agent and applies the network settings. Blocks up to boot_timeout. `state`
  // must outlive the Guest. On failure nothing is left running; the error carries the tail
  // of the console log.
  static Result<std::unique_ptr<Guest>> boot(const GuestOptions& options, RunState& state);

  ~Guest();  // shutdown() if not done
  Guest(const Guest&) = delete;
  Guest& operator=(const Guest&) = delete;

  // Runs argv in the guest and waits (up to `timeout`, then the agent kills it). Output is
  // bounded to max_output bytes per stream. Thread-safe (one request at a time).
  Result<ExecResult> exec(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30),
                          std::size_t max_output = 1 << 20);
  // exec() that must exit 0: its stdout, or an Error naming the command and its stderr.
  Result<std::string> run(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Starts a long-running process (charon) in the guest, in its own session; returns at once.
  Result<BackgroundId> spawn(const SpawnRequest& request);
  Status signal(BackgroundId id, int signo);
  Result<BackgroundState> poll(BackgroundId id);

  Result<std::string> read_file(const std::string& guest_path, std::size_t max_bytes = 16u << 20);
  // Creates/truncates a file in the guest (parent folders are created).
  Status write_file(const std::string& guest_path, const std::string& content, unsigned mode = 0644);

  // Mounts the share `tag` (GuestOptions::shares) at guest_path (created), writable.
  Status mount_share(const std::string& tag, const std::string& guest_path);

  // A TCP connection from inside network.netns to the guest (blocking fd) (e.g. vici over tcp:// for
  // vici::Session::adopt). `address` is one of the guest's addresses without prefix.
  Result<unique_fd> connect_tcp(const std::string& address, std::uint16_t port,
                                std::chrono::milliseconds timeout = std::chrono::seconds(10));

  const std::string& kernel_release() const { return kernel_release_; }  // guest's uname -r
  Accel accel() const { return accel_; }  // kvm or tcg, as used
  pid_t qemu_pid() const { return qemu_.pid(); }
  const std::string& console_log_path() const { return console_log_; }
  const BootTimings& timings() const { return timings_; }
  // qemu's CPU time and peak RSS (the whole guest's cost).
  ProcessUsage usage();
  // qemu runs and the agent answered its last request; `why` gets the reason otherwise.
  bool alive(std::string* why = nullptr);

  // Asks the agent to power the guest off (syncs, stops background processes), waits up to
  // `grace` for qemu to exit, then kills it; forgets the journal entry. Idempotent.
  Status shutdown(std::chrono::milliseconds grace = std::chrono::seconds(10));

 private:
  Guest();
  class Channel;
  Status start_qemu(const std::string& initramfs);
  Status attach_tap();
  Status wait_for_agent();
  Status configure_network();
  Result<std::vector<std::string>> request(int type, const std::vector<std::string>& fields,
                                           std::chrono::milliseconds timeout);

  RunState* state_ = nullptr;
  GuestOptions options_;
  ChildProcess qemu_;
  std::unique_ptr<Channel> channel_;
  std::mutex mutex_;  // one request at a time on the channel
  std::string kernel_release_;
  Accel accel_ = Accel::tcg;
  std::string console_log_;
  std::string boot_image_;  // what qemu -kernel gets: the unpacked vmlinux, else the bzImage
  BootTimings timings_;
  ProcessUsage last_usage_;
  std::string dead_reason_;  // set once the channel failed
  bool shut_down_ = false;
};

// Where the agent binary is looked for when GuestOptions::agent_path is empty: $IKESTORM_VM_AGENT,
// next to the running executable, in its install prefix (<exe dir>/../lib/ikestorm, where the
// package puts it), in its build tree (<exe dir>/../vm/agent), the build tree it was compiled
// in, /usr/lib/ikestorm/ist-vm-agent.
std::string default_agent_path();

// Newest /boot/vmlinuz-<release> whose /lib/modules/<release> exists; "" if none.
std::string default_kernel();
// The release string stored in a bzImage's setup header ("6.1.0-56-amd64").
Result<std::string> kernel_release_of(const std::string& kernel_image);

std::string_view accel_name(Accel a);  // "auto", "kvm", "tcg"

}  // namespace ist::vm
