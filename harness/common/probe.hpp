#pragma once
// What this host can do for ikestorm, found by trying rather than by reading version numbers:
// XFRM netlink, ESP states, netem, TUN and nftables are exercised inside a scratch network
// namespace ist-<runid>-probe (journaled in a RunState so `ikestorm clean` finds it after a
// SIGKILL, and removed before probe_host() returns); the vm backend's pieces (qemu, a distro
// kernel, KVM) and charon with its plugins are looked up on disk. The run orchestrator uses
// auto_backend() to pick the SUT's IPsec data path.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ist::probe {

struct Check {
  bool available = false;
  std::string detail;  // what was tried and what happened, one line
};

struct Plugin {
  std::string name;  // "kernel-netlink"
  bool present = false;
};

struct HostCapabilities {
  std::string kernel;  // uname -r

  Check xfrm_netlink;  // NETLINK_XFRM socket + SA dump in the scratch namespace
  Check esp;           // an ESP state could be added (and was deleted again)
  Check netem;         // a netem qdisc could be added on lo
  Check tun;           // /dev/net/tun + TUNSETIFF
  Check nftables;      // a table could be created and deleted
  Check veth;          // a veth pair could be created (every run's SUT-peers link)
  Check bridge;        // a bridge could be created (peer address holders; the vm backend's tap)
  Check tbf;           // a tbf qdisc could be added on lo (link.rate)

  Check qemu;          // qemu-system-x86_64 found and executable
  std::string qemu_path;
  Check vm_kernel;     // a distro kernel image (/boot/vmlinuz-*) with its modules
  std::string vm_kernel_path;
  Check kvm;           // /dev/kvm ran a test guest and qemu -accel kvm boots vm_kernel
                       // (when qemu and a kernel are there)

  Check charon;        // charon found and it told its version
  std::string charon_path;
  std::string charon_version;  // "5.9.8"
  std::string plugin_dir;
  std::vector<Plugin> plugins;  // the plugins the harness loads, in load order

  std::string run_id;         // the probe's own run id (its scratch namespace's)
  std::string scratch_netns;  // ist-<runid>-probe
  // Problems of the probe itself (scratch namespace could not be made or removed, ...).
  std::vector<std::string> problems;

  bool plugin_present(std::string_view name) const;
};

struct ProbeOptions {
  std::string charon_path;  // empty: the usual install locations
  std::string plugin_dir;   // empty: <charon's folder>/plugins
  // Boot the vm kernel under qemu -accel kvm to prove KVM works (up to 5 s where it hangs,
  // as under some nested hypervisors). Callers that do not need the vm backend can skip it.
  bool boot_kernel_under_kvm = true;
  // Test hook: called once the scratch namespace exists (name given), before the checks.
  std::function<void(const std::string& run_id, const std::string& netns)> on_scratch_ready;
};

// The vm backend's pieces, also used by the vm library when it boots a guest.
// The newest /boot/vmlinuz-<version> whose /lib/modules/<version> exists; `image` gets its path.
Check find_vm_kernel(std::string* image);
// /dev/kvm runs a test guest and qemu -accel kvm boots `kernel` (banner within `within`).
Check check_kvm_for_vm(const std::string& qemu, const std::string& kernel, std::chrono::seconds within);
// The vm backend can run here: qemu, a kernel with modules, and KVM or TCG (`accel` gets which).
Check vm_backend_usable(const HostCapabilities& caps, std::string* accel = nullptr);

// The plugins checked, in the order the harness loads them (docs/design.md, "Plugins").
const std::vector<std::string>& required_plugins();

// Runs every check. Needs root for the namespace checks; without it those report why.
HostCapabilities probe_host(const ProbeOptions& options = {});

// The backend `--backend auto` picks: "xfrm" when the kernel holds ESP states, otherwise
// "libipsec"; "" when neither can work. `reason` (if given) gets the one-line why.
std::string auto_backend(const HostCapabilities& caps, std::string* reason);

inline constexpr std::string_view kLibipsecReason =
    "real kernel XFRM unavailable here; using userspace ESP; --backend vm for real XFRM";

}  // namespace ist::probe
