// ist-vm-agent: PID 1 of an ikestorm guest (after the initramfs switch_roots into the host
// root overlay). Answers the host's requests (vm/protocol.hpp) on the virtio-serial port
// named ist.ctl, one at a time; reaps every process (it is init); powers the guest off on
// request. Linked statically: it is copied into the initramfs and must not need the host's
// libraries before the host root is mounted.
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "vm/protocol.hpp"

namespace proto = ist::vm::proto;
using Clock = std::chrono::steady_clock;

namespace {

void say(const std::string& text) {
  std::string line = "ist-vm-agent: " + text + "\n";
  (void)!::write(2, line.data(), line.size());
}

struct Failure {
  std::string why;
};

std::string errno_text(const std::string& what, int err = errno) {
  return what + ": " + std::strerror(err);
}

// ------------------------------------------------------------------ the port

// /dev/<vportXpY> whose /sys/class/virtio-ports/<vportXpY>/name is ist.ctl.
std::string find_port() {
  DIR* d = ::opendir("/sys/class/virtio-ports");
  if (!d) return "";
  std::string found;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string name_file = std::string("/sys/class/virtio-ports/") + e->d_name + "/name";
    int fd = ::open(name_file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char buf[64] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    std::string name(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!name.empty() && (name.back() == '\n' || name.back() == '\0')) name.pop_back();
    if (name == proto::kPortName) found = std::string("/dev/") + e->d_name;
  }
  ::closedir(d);
  return found;
}

bool write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        ::poll(&p, 1, 1000);
        continue;
      }
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// ------------------------------------------------------------------ processes

std::vector<std::string> base_env() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "TERM=dumb",
          "LANG=C"};
}

// The PATH a child sees (the last PATH= in its environment wins, as getenv would).
std::string path_of(const std::vector<std::string>& env) {
  std::string path;
  for (const auto& e : env)
    if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
  return path;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::string describe_how(int status, std::string& code) {
  if (WIFEXITED(status)) {
    code = std::to_string(WEXITSTATUS(status));
    return std::string(proto::kExited);
  }
  code = std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return std::string(proto::kKilled);
}

// Child side of fork(): never returns.
[[noreturn]] void exec_child(std::vector<std::string> argv, std::vector<std::string> env, const std::string& cwd,
                             int out_fd, int err_fd) {
  ::setsid();
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0) ::dup2(devnull, 0);
  ::dup2(out_fd, 1);
  ::dup2(err_fd, 2);
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
    std::string msg = errno_text("chdir " + cwd) + "\n";
    (void)!::write(2, msg.data(), msg.size());
    ::_exit(127);
  }
  auto cargv = c_strings(argv);
  auto cenv = c_strings(env);
  std::string searched;
  if (argv[0].find('/') != std::string::npos) {
    ::execve(cargv[0], cargv.data(), cenv.data());
  } else {
    // A bare command name ("uname") is looked up on the child's PATH, as a shell would.
    searched = path_of(env);
    int err = ENOENT;
    std::size_t start = 0;
    while (start <= searched.size()) {
      std::size_t end = searched.find(':', start);
      if (end == std::string::npos) end = searched.size();
      std::string dir = searched.substr(start, end - start);
      std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + argv[0];
      ::execve(candidate.c_str(), cargv.data(), cenv.data());
      if (errno == EACCES) err = EACCES;                     // keep looking, report it if nothing runs
      else if (errno != ENOENT && errno != ENOTDIR) {        // found but not runnable: stop here
        err = errno;
        break;
      }
      start = end + 1;
    }
    errno = err;
  }
  std::string msg = errno_text("exec " + argv[0]);
  if (!searched.empty()) msg += " (looked up on PATH=" + searched + ")";
  msg += "\n";
  (void)!::write(2, msg.data(), msg.size());
  ::_exit(127);
}

struct Background {
  pid_t pid = -1;
  bool running = true;
  int status = 0;
};

class Agent {
 public:
  explicit Agent(int port) : port_(port) {}
  void serve();

 private:
  proto::Message handle(const proto::Message& req);
  std::vector<std::string> do_exec(const std::vector<std::string>& f);
  std::vector<std::string> do_spawn(const std::vector<std::string>& f);
  std::vector<std::string> do_signal(const std::vector<std::string>& f);
  std::vector<std::string> do_poll(const std::vector<std::string>& f);
  std::vector<std::string> do_read(const std::vector<std::string>& f);
  std::vector<std::string> do_write(const std::vector<std::string>& f);
  void reap_all();
  void note_exit(pid_t pid, int status);
  void power_off();
  Background& find(const std::string& id_text);

  int port_;
  std::map<std::uint32_t, Background> background_;
  std::uint32_t next_id_ = 1;
  bool shutdown_requested_ = false;
};

std::uint64_t number(const std::vector<std::string>& f, std::size_t i, const char* what) {
  std::uint64_t v = 0;
  if (i >= f.size() || !proto::parse_u64(f[i], v)) throw Failure{std::string("bad ") + what};
  return v;
}

void Agent::note_exit(pid_t pid, int status) {
  for (auto& [id, b] : background_) {
    if (b.pid == pid && b.running) {
      b.running = false;
      b.status = status;
    }
  }
}

void Agent::reap_all() {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) return;
    note_exit(pid, status);
  }
}

Background& Agent::find(const std::string& id_text) {
  std::uint64_t id = 0;
  if (!proto::parse_u64(id_text, id)) throw Failure{"bad background id"};
  auto it = background_.find(static_cast<std::uint32_t>(id));
  if (it == background_.end()) throw Failure{"no background process " + id_text};
  return it->second;
}

std::vector<std::string> Agent::do_exec(const std::vector<std::string>& f) {
  auto timeout = std::chrono::milliseconds(number(f, 0, "timeout"));
  auto max_output = number(f, 1, "max_output");
  std::vector<std::string> argv(f.begin() + 2, f.end());
  if (argv.empty()) throw Failure{"empty argv"};
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw Failure{errno_text("pipe")};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw Failure{errno_text("pipe")};
  }
  pid_t pid = ::fork();
  if (pid == 0) exec_child(argv, base_env(), "/", out_pipe[1], err_pipe[1]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (pid < 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    throw Failure{errno_text("fork")};
  }
  const auto deadline = Clock::now() + timeout;
  std::string out, err;
  bool truncated = false, timed_out = false;
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* bufs[2] = {&out, &err};
  int open_count = 2;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p[2];
    for (int i = 0; i < 2; ++i) p[i] = {fds[i], POLLIN, 0};
    int r = ::poll(p, 2, static_cast<int>(std::min<long long>(left, 1000)));
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t n = ::read(fds[i], buf, sizeof buf);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        ::close(fds[i]);
        fds[i] = -1;
        --open_count;
        continue;
      }
      std::size_t room = max_output > bufs[i]->size() ? max_output - bufs[i]->size() : 0;
      std::size_t take = std::min<std::size_t>(room, static_cast<std::size_t>(n));
      bufs[i]->append(buf, take);
      if (take < static_cast<std::size_t>(n)) truncated = true;  // keep draining, drop the rest
    }
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  if (timed_out) ::kill(-pid, SIGKILL), ::kill(pid, SIGKILL);
  // The pipes are closed; the child is gone or going. Wait for it, bounded.
  int status = 0;
  pid_t got = 0;
  const auto wait_deadline = std::max(deadline, Clock::now()) + std::chrono::seconds(2);
  while ((got = ::waitpid(pid, &status, WNOHANG)) == 0) {
    if (Clock::now() >= wait_deadline) {
      if (!timed_out) ::kill(-pid, SIGKILL), ::kill(pid, SIGKILL);
      timed_out = true;
      ::waitpid(pid, &status, 0);  // SIGKILL cannot be ignored
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // `code` is initialised rather than assigned "0" after the fact: GCC 12 at -O3 reports a
  // false -Wrestrict overlap in the inlined string assignment (GCC bug 105329).
  std::string code = "0";  // a command that timed out has no exit code
  std::string how = timed_out ? std::string(proto::kTimedOut) : describe_how(status, code);
  return {how, code, truncated ? "1" : "0", out, err};
}

std::vector<std::string> Agent::do_spawn(const std::vector<std::string>& f) {
  if (f.size() < 3) throw Failure{"short spawn request"};
  const std::string& log_path = f[0];
  const std::string& cwd = f[1];
  auto env_count = number(f, 2, "env count");
  if (f.size() < 3 + env_count + 1) throw Failure{"spawn request without argv"};
  auto env = base_env();
  env.insert(env.end(), f.begin() + 3, f.begin() + 3 + static_cast<long>(env_count));
  std::vector<std::string> argv(f.begin() + 3 + static_cast<long>(env_count), f.end());
  int log_fd = ::open(log_path.empty() ? "/dev/null" : log_path.c_str(),
                      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw Failure{errno_text("opening " + log_path)};
  pid_t pid = ::fork();
  if (pid == 0) exec_child(argv, env, cwd, log_fd, log_fd);
  ::close(log_fd);
  if (pid < 0) throw Failure{errno_text("fork")};
  std::uint32_t id = next_id_++;
  background_[id] = Background{pid, true, 0};
  return {std::to_string(id), std::to_string(pid)};
}

std::vector<std::string> Agent::do_signal(const std::vector<std::string>& f) {
  if (f.size() != 2) throw Failure{"bad signal request"};
  reap_all();
  Background& b = find(f[0]);
  auto signo = number(f, 1, "signal");
  if (!b.running) throw Failure{"background process " + f[0] + " has ended"};
  if (::kill(b.pid, static_cast<int>(signo)) != 0) throw Failure{errno_text("kill")};
  return {};
}

std::vector<std::string> Agent::do_poll(const std::vector<std::string>& f) {
  if (f.size() != 1) throw Failure{"bad poll request"};
  reap_all();
  Background& b = find(f[0]);
  if (b.running) return {std::to_string(b.pid), "1", std::string(proto::kRunning), "0"};
  std::string code;
  std::string how = describe_how(b.status, code);
  return {std::to_string(b.pid), "0", how, code};
}

std::vector<std::string> Agent::do_read(const std::vector<std::string>& f) {
  if (f.size() != 2) throw Failure{"bad read request"};
  auto max = number(f, 1, "max bytes");
  int fd = ::open(f[0].c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Failure{errno_text("opening " + f[0])};
  std::string content;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      throw Failure{errno_text("reading " + f[0], e)};
    }
    if (n == 0) break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > max) {
      ::close(fd);
      throw Failure{f[0] + " is larger than " + std::to_string(max) + " bytes"};
    }
  }
  ::close(fd);
  return {content};
}

void make_parents(const std::string& path) {
  for (std::size_t at = path.find('/', 1); at != std::string::npos; at = path.find('/', at + 1))
    ::mkdir(path.substr(0, at).c_str(), 0755);
}

std::vector<std::string> Agent::do_write(const std::vector<std::string>& f) {
  if (f.size() != 3) throw Failure{"bad write request"};
  unsigned long mode = std::strtoul(f[1].c_str(), nullptr, 8);
  make_parents(f[0]);
  int fd = ::open(f[0].c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) throw Failure{errno_text("creating " + f[0])};
  bool ok = write_all(fd, f[2]);
  int e = errno;
  ::fchmod(fd, static_cast<mode_t>(mode));
  ::close(fd);
  if (!ok) throw Failure{errno_text("writing " + f[0], e)};
  return {};
}

proto::Message Agent::handle(const proto::Message& req) {
  proto::Message reply{proto::kOk, req.id, {}};
  try {
    switch (req.type) {
      case proto::kHello: {
        int fd = ::open("/proc/sys/kernel/osrelease", O_RDONLY | O_CLOEXEC);
        char buf[128] = {};
        ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0) ::close(fd);
        std::string release(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
        while (!release.empty() && release.back() == '\n') release.pop_back();
        reply.fields = {release};
        break;
      }
      case proto::kExec: reply.fields = do_exec(req.fields); break;
      case proto::kSpawn: reply.fields = do_spawn(req.fields); break;
      case proto::kSignal: reply.fields = do_signal(req.fields); break;
      case proto::kPoll: reply.fields = do_poll(req.fields); break;
      case proto::kReadFile: reply.fields = do_read(req.fields); break;
      case proto::kWriteFile: reply.fields = do_write(req.fields); break;
      case proto::kShutdown: shutdown_requested_ = true; break;
      default: throw Failure{"unknown request type " + std::to_string(req.type)};
    }
  } catch (const Failure& f) {
    reply = proto::Message{proto::kFailed, req.id, {f.why}};
  }
  return reply;
}

void Agent::power_off() {
  // Background processes first (TERM, up to 3 s, KILL), then the file systems, then off.
  for (auto& [id, b] : background_)
    if (b.running) ::kill(b.pid, SIGTERM);
  const auto deadline = Clock::now() + std::chrono::seconds(3);
  for (;;) {
    reap_all();
    bool any = false;
    for (auto& [id, b] : background_) any = any || b.running;
    if (!any || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-1, SIGKILL);
  ::sync();
  ::reboot(RB_POWER_OFF);
  say(errno_text("reboot(RB_POWER_OFF)"));
  ::_exit(1);  // PID 1 exits: the kernel panics, and qemu -no-reboot ends
}

void Agent::serve() {
  proto::Decoder decoder;
  char buf[65536];
  for (;;) {
    reap_all();
    pollfd p{port_, POLLIN, 0};
    int r = ::poll(&p, 1, 1000);
    if (r < 0 && errno != EINTR) {
      say(errno_text("poll on the control port"));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      continue;
    }
    if (r <= 0) continue;
    ssize_t n = ::read(port_, buf, sizeof buf);
    if (n <= 0) {
      // No host connected (POLLHUP with nothing to read): wait for one.
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    decoder.feed(buf, static_cast<std::size_t>(n));
    while (auto req = decoder.next()) {
      auto reply = handle(*req);
      if (!write_all(port_, proto::encode(reply))) say(errno_text("writing a reply"));
      if (shutdown_requested_) power_off();
    }
  }
}

}  // namespace

int main() {
  ::signal(SIGPIPE, SIG_IGN);
  if (::getpid() != 1) ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // run by hand: still reap grandchildren
  std::string port;
  const auto deadline = Clock::now() + std::chrono::seconds(20);
  while ((port = find_port()).empty() && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  int fd = port.empty() ? -1 : ::open(port.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    say(port.empty() ? "no virtio-serial port named ist.ctl" : errno_text("opening " + port));
    ::sync();
    ::reboot(RB_POWER_OFF);
    return 1;
  }
  say("serving on " + port);
  Agent(fd).serve();
}
