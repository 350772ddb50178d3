#include "common/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "common/file_write.hpp"
#include "common/log.hpp"

namespace ist {
namespace {

// What the child reports through the CLOEXEC pipe when it cannot exec.
struct ChildFailure {
  int stage;
  int err;
};
const char* const kStageNames[] = {"", "joining network namespace", "creating mount namespace",
                                   "making mounts private", "bind-mounting /run",
                                   "redirecting output", "changing directory", "exec"};

std::vector<char*> to_cstrs(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void child_fail(int pipe_fd, int stage) {
  ChildFailure f{stage, errno};
  [[maybe_unused]] auto n = ::write(pipe_fd, &f, sizeof f);
  ::_exit(127);
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

Result<ChildProcess> spawn_with_fds(const SpawnOptions& opts, int out_fd, int err_fd,
                                    ChildProcess (*make)(pid_t, int));

}  // namespace

std::string ExitStatus::describe() const {
  if (exited) return "exited with " + std::to_string(code);
  return "killed by " + signal_name(signal);
}

// Constructed only from spawn(); friend-free helper to fill the private fields.
struct ChildProcessAccess {
  static ChildProcess make(pid_t pid, int pidfd) {
    ChildProcess c;
    c.pid_ = pid;
    c.pidfd_.reset(pidfd);
    return c;
  }
};

namespace {
Result<ChildProcess> spawn_with_fds(const SpawnOptions& opts, int out_fd, int err_fd,
                                    ChildProcess (*make)(pid_t, int)) {
  if (opts.argv.empty()) return Error("spawn: empty argv");

  // Everything the child needs is prepared before fork: after fork only syscalls.
  std::vector<std::string> argv = opts.argv;
  std::vector<std::string> env = opts.env;
  if (env.empty()) {
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
  }
  for (const auto& e : opts.extra_env) env.push_back(e);
  auto cargv = to_cstrs(argv);
  auto cenv = to_cstrs(env);

  unique_fd netns_fd;
  if (!opts.netns.empty()) {
    std::string path = "/run/netns/" + opts.netns;
    netns_fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns_fd) return Error::sys("opening network namespace " + path);
  }
  unique_fd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull) return Error::sys("opening /dev/null");

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error::sys("pipe2");
  unique_fd rd(pipefd[0]), wr(pipefd[1]);

  const pid_t parent = ::getpid();
  const char* run_dir = opts.private_run_dir.empty() ? nullptr : opts.private_run_dir.c_str();
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();
  const bool pdeath = opts.die_with_parent;

  pid_t pid = ::fork();
  if (pid < 0) return Error::sys("fork");
  if (pid == 0) {
    // Child.
    ::setpgid(0, 0);  // terminal Ctrl-C goes to the harness only; it tears down in order
    if (pdeath) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
    }
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP}) ::signal(s, SIG_DFL);

    if (netns_fd && ::setns(netns_fd.get(), CLONE_NEWNET) != 0) child_fail(wr.get(), 1);
    if (run_dir) {
      if (::unshare(CLONE_NEWNS) != 0) child_fail(wr.get(), 2);
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) child_fail(wr.get(), 3);
      if (::mount(run_dir, "/run", nullptr, MS_BIND, nullptr) != 0) child_fail(wr.get(), 4);
    }
    if (::dup2(devnull.get(), 0) < 0) child_fail(wr.get(), 5);
    if (::dup2(out_fd >= 0 ? out_fd : devnull.get(), 1) < 0) child_fail(wr.get(), 5);
    if (::dup2(err_fd >= 0 ? err_fd : (out_fd >= 0 ? out_fd : devnull.get()), 2) < 0)
      child_fail(wr.get(), 5);
    if (cwd && ::chdir(cwd) != 0) child_fail(wr.get(), 6);
    ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
    ::execve(cargv[0], cargv.data(), cenv.data());
    child_fail(wr.get(), 7);
  }

  wr.reset();
  ChildFailure f{};
  ssize_t n;
  do {
    n = ::read(rd.get(), &f, sizeof f);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof f)) {
    int st;
    ::waitpid(pid, &st, 0);
    return Error(std::string("starting ") + opts.argv[0] + ": " + kStageNames[f.stage], f.err);
  }
  int pfd = open_pidfd(pid);
  if (pfd < 0) {
    int err = errno;
    ::kill(pid, SIGKILL);
    int st;
    ::waitpid(pid, &st, 0);
    return Error::sys("pidfd_open", err);
  }
  return make(pid, pfd);
}
}  // namespace

Result<ChildProcess> ChildProcess::spawn(const SpawnOptions& opts) {
  unique_fd out, err;
  if (!opts.stdout_path.empty()) {
    out.reset(::open(opts.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!out) return Error::sys("opening " + opts.stdout_path);
  }
  if (!opts.stderr_path.empty() && opts.stderr_path != opts.stdout_path) {
    err.reset(::open(opts.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!err) return Error::sys("opening " + opts.stderr_path);
  }
  return spawn_with_fds(opts, out.get(), err.get(), &ChildProcessAccess::make);
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) stop();
}

ChildProcess::ChildProcess(ChildProcess&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)), status_(std::move(o.status_)) {
  o.status_.reset();
}

ChildProcess& ChildProcess::operator=(ChildProcess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0 && !status_) stop();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
    status_ = std::move(o.status_);
    o.status_.reset();
  }
  return *this;
}

bool ChildProcess::try_reap(bool block) {
  if (pid_ <= 0 || status_) return true;
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  ExitStatus es;
  if (r < 0) {
    // Someone else reaped it (should not happen): treat as gone.
    es.exited = true;
    es.code = -1;
  } else if (WIFEXITED(st)) {
    es.exited = true;
    es.code = WEXITSTATUS(st);
  } else if (WIFSIGNALED(st)) {
    es.signal = WTERMSIG(st);
  }
  status_ = es;
  return true;
}

bool ChildProcess::running() { return pid_ > 0 && !try_reap(false); }

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return status_;
  if (status_) return status_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (try_reap(false)) return status_;
    // Rounded up: never wake (and give up) before the deadline.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{pidfd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) return std::nullopt;
  }
}

ExitStatus ChildProcess::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0) return status_.value_or(ExitStatus{});
  if (!status_) {
    (void)signal(SIGTERM);
    if (!wait_for(grace)) {
      log::warn("pid ", pid_, " did not exit within ", grace.count(), " ms of SIGTERM; sending SIGKILL");
      (void)signal(SIGKILL);
      try_reap(true);
    }
  }
  return *status_;
}

Status ChildProcess::signal(int signo) {
  if (pid_ <= 0 || status_) return Error("process already exited");
  // pidfd_send_signal cannot hit a recycled pid.
  if (signal_pidfd(pidfd_.get(), signo) != 0)
    return Error::sys("signalling pid " + std::to_string(pid_));
  return ok();
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout, const std::string& netns,
                                  std::size_t max_output) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Error::sys("pipe2");
  unique_fd rd(p[0]), wr(p[1]);
  SpawnOptions opts;
  opts.argv = argv;
  opts.netns = netns;
  auto child = spawn_with_fds(opts, wr.get(), wr.get(), &ChildProcessAccess::make);
  if (!child) return std::move(child).error();
  wr.reset();

  CommandOutput out;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[4096];
  for (;;) {
    // Rounded up: never wake (and give up) before the deadline.
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      out.timed_out = true;
      break;
    }
    pollfd pf{rd.get(), POLLIN, 0};
    int r = ::poll(&pf, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (out.output.size() < max_output)
      out.output.append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), max_output - out.output.size()));
  }
  out.status = child->stop(out.timed_out ? std::chrono::milliseconds(500) : std::chrono::milliseconds(timeout));
  return out;
}

namespace {
// The numeric fields of /proc/PID/stat, indexed by their field number (1-based, as in
// proc(5)); fields 1 and 2 (pid, comm) are left empty. comm may contain spaces and
// parentheses, so parsing starts after the last ')'.
std::optional<std::vector<unsigned long long>> proc_stat_fields(pid_t pid, int last_field) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return std::nullopt;
  auto close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return std::nullopt;
  std::istringstream rest(line.substr(close + 2));
  std::vector<unsigned long long> fields(3, 0);
  std::string field;
  for (int i = 3; i <= last_field; ++i) {
    if (!(rest >> field)) return std::nullopt;
    // Field 3 (state) is a letter; the rest are numbers (some may be negative).
    fields.push_back(i == 3 ? 0 : std::strtoull(field.c_str(), nullptr, 10));
  }
  return fields;
}
}  // namespace

int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
int signal_pidfd(int pidfd, int signo) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, signo, nullptr, 0));
}

std::string ip_program() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

std::optional<unsigned long long> process_start_ticks(pid_t pid) {
  auto f = proc_stat_fields(pid, 22);  // 22: starttime
  if (!f) return std::nullopt;
  return (*f)[22];
}

std::optional<ProcessUsage> process_usage(pid_t pid) {
  auto f = proc_stat_fields(pid, 15);  // 14: utime, 15: stime
  if (!f) return std::nullopt;
  unsigned long long utime = (*f)[14], stime = (*f)[15];
  std::string line;
  ProcessUsage u;
  u.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  std::ifstream st("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(st, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      u.rss_peak_mb = std::stod(line.substr(6)) / 1024.0;
      return u;
    }
  }
  // No memory map: a zombie (dead, not yet reaped). Its figures are gone; callers keep their
  // last reading rather than take a peak RSS of 0.
  return std::nullopt;
}

std::string thread_wait_summary(pid_t pid) {
  std::error_code ec;
  std::map<std::string, int> waits;
  int threads = 0;
  for (const auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream f(t.path() / "wchan");
    std::string where;
    std::getline(f, where);
    ++threads;
    ++waits[where.empty() || where == "0" ? "running" : where];
  }
  if (threads == 0) return {};
  std::vector<std::pair<std::string, int>> sorted(waits.begin(), waits.end());
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  std::string out = std::to_string(threads) + (threads == 1 ? " thread" : " threads") + "; waiting in ";
  for (size_t i = 0; i < sorted.size(); ++i)
    out += (i ? ", " : "") + sorted[i].first + " " + std::to_string(sorted[i].second);
  return out;
}

Status write_thread_backtraces(pid_t pid, const std::string& path, std::chrono::milliseconds timeout) {
  const char* gdb = "/usr/bin/gdb";
  if (::access(gdb, X_OK) != 0) return Error("no backtraces: gdb is not installed");
  auto r = run_command({gdb, "--batch", "--nx", "-p", std::to_string(pid), "-ex", "set pagination off", "-ex",
                        "thread apply all bt"},
                       timeout, "", 4 << 20);
  if (!r) return std::move(r).error().wrap("gdb -p " + std::to_string(pid));
  if (r->timed_out) return Error("gdb -p " + std::to_string(pid) + " did not finish within " +
                                 std::to_string(timeout.count() / 1000) + " s");
  return write_file_atomic(path, r->output);
}

}  // namespace ist
