#pragma once
// `ikestorm run --in-vm`: the whole run (SUT and peers) inside one qemu guest with the host's
// distro kernel (vm/guest.hpp), so every SA on both sides is real kernel XFRM. The guest runs
// this same binary (`ikestorm run ... --backend xfrm --out /var/lib/ikestorm-in-vm/out`, on the guest's tmpfs overlay) from the host root
// it sees over 9p; its stdout and stderr are relayed as they grow, Ctrl-C is passed on as
// SIGINT, and its report folder is copied into the host's --out over a writable 9p share at
// the end. The guest's qemu is journaled like the vm backend's, so `ikestorm clean` removes
// it after a SIGKILL of this process.
#include <string>
#include <vector>

namespace ist::cli {

struct InVmRun {
  std::vector<std::string> inner_args;  // `run` arguments for the guest, without --out/--force/--in-vm
  std::string out;                      // host report folder, prepared (exists, empty or --force)
  std::string cwd;                      // the guest command's working folder (the host's, over 9p)
  unsigned cpus = 2;
  unsigned memory_mb = 1024;
};

// Boots the guest, runs, copies back, shuts down; returns the guest run's exit code (3 when
// the guest or the copy failed).
int run_in_vm(const InVmRun& request);

}  // namespace ist::cli
