#pragma once
// A child process the harness started and owns: spawned from argv/env (optionally inside a
// named network namespace, optionally with a private mount namespace that bind-mounts a
// directory over /run, as charon's fixed pid-file path needs), watched through a pidfd,
// stopped with SIGTERM then SIGKILL after a grace period, and always reaped.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace ist {

struct SpawnOptions {
  std::vector<std::string> argv;                  // argv[0] is the program path
  std::vector<std::string> env;                   // "K=V"; empty -> inherit the harness's
  std::vector<std::string> extra_env;             // added to the inherited environment
  std::string netns;                              // join /run/netns/<netns> when set
  std::string private_run_dir;                    // bind-mounted over /run in a private mount ns
  std::string stdout_path;                        // file (created/truncated); empty -> /dev/null
  std::string stderr_path;                        // empty -> same as stdout
  std::string cwd;
  bool die_with_parent = true;                    // PR_SET_PDEATHSIG(SIGKILL); see below
};
// die_with_parent is tied to the *thread* that spawned: spawn from a thread that outlives the
// child (the main thread or a long-lived loop), never from a short-lived worker.

struct ExitStatus {
  bool exited = false;     // normal exit
  int code = 0;            // exit code when exited
  int signal = 0;          // terminating signal when !exited
  std::string describe() const;  // "exited with 0", "killed by SIGKILL"
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();  // stops (TERM, 5 s, KILL) and reaps if still running
  ChildProcess(ChildProcess&&) noexcept;
  ChildProcess& operator=(ChildProcess&&) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  static Result<ChildProcess> spawn(const SpawnOptions& opts);

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }  // readable when the child has exited
  bool running();                              // non-blocking check (reaps if it exited)
  const std::optional<ExitStatus>& status() const { return status_; }

  // Blocks up to `timeout` for exit; returns the status if the child exited.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  // SIGTERM, wait `grace`, then SIGKILL and reap. Returns the final status.
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // Sends a signal if still running (never to a reaped pid).
  Status signal(int signo);

 private:
  friend struct ChildProcessAccess;
  bool try_reap(bool block);
  pid_t pid_ = -1;
  unique_fd pidfd_;
  std::optional<ExitStatus> status_;
};

// Runs a command to completion (for setup helpers, never in a hot path). Captures stdout
// and stderr combined, bounded to max_output bytes; kills it after `timeout`.
struct CommandOutput {
  ExitStatus status;
  std::string output;
  bool timed_out = false;
};
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30),
                                  const std::string& netns = "",
                                  std::size_t max_output = 1 << 20);

// pidfd_open(2) and pidfd_send_signal(2), called as syscalls (Debian 12's <sys/pidfd.h>
// declares them without extern "C"): the result, or -1 with errno.
int open_pidfd(pid_t pid);
int signal_pidfd(int pidfd, int signo);

// The iproute2 `ip` program where Debian and others install it (run_command execs without a
// PATH search); "" when there is none.
std::string ip_program();

// Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat); used to
// tell a recorded pid from a reused one. nullopt if no such process.
std::optional<unsigned long long> process_start_ticks(pid_t pid);

// Sum of utime+stime (seconds) and VmHWM (MiB) from /proc for a pid; nullopt if gone.
struct ProcessUsage {
  double cpu_s = 0;
  double rss_peak_mb = 0;
};
std::optional<ProcessUsage> process_usage(pid_t pid);

// Where a process's threads wait in the kernel, from /proc/PID/task/*/wchan, most common
// first: "37 threads; waiting in futex_wait_queue 35, do_select 1, ep_poll 1". What a hung
// daemon is stuck on (a lock: futex; a netlink answer: select/recv); "" if the pid is gone.
std::string thread_wait_summary(pid_t pid);

// Every thread's user-space backtrace (gdb attached in batch mode, detached again), written
// to `path`; an error when gdb is not installed or did not finish within `timeout`.
Status write_thread_backtraces(pid_t pid, const std::string& path,
                               std::chrono::milliseconds timeout = std::chrono::seconds(20));

}  // namespace ist
