#include "common/cleanup.hpp"

#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/child_process.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "common/unique_fd.hpp"

namespace fs = std::filesystem;

namespace ist::cleanup {
namespace {

using Clock = std::chrono::steady_clock;

class Cleaner {
 public:
  Cleaner(const Options& o, const std::function<void(const Action&)>& cb) : opt_(o), cb_(cb) {}

  Summary run();

 private:
  void emit(Outcome o, const std::string& run_id, std::string kind, std::string name,
            std::string detail = "") {
    Action a{o, run_id, std::move(kind), std::move(name), std::move(detail)};
    if (cb_) cb_(a);
    if (o == Outcome::failed) run_failed_ = true;
    summary_.actions.push_back(std::move(a));
  }
  Outcome done() const { return opt_.dry_run ? Outcome::would_remove : Outcome::removed; }

  void clean_run(const std::string& run_id);
  void clean_resource(RunState& state, const Resource& r);
  void stop_recorded_process(const std::string& run_id, const Resource& r);
  void remove_mount(const std::string& run_id, const std::string& path);
  void remove_netns(const std::string& run_id, const std::string& name, bool orphan);
  void remove_link(const std::string& run_id, const Resource& r);
  void remove_dir(const std::string& run_id, const std::string& path);
  void clean_orphan_namespaces();
  // Stops a process we hold a pidfd for: SIGTERM, grace, SIGKILL. True when it is gone.
  bool terminate(int pidfd);

  const Options& opt_;
  const std::function<void(const Action&)>& cb_;
  Summary summary_;
  bool run_failed_ = false;
  std::set<std::string> live_runs_;     // state folders of runs left alone
  std::set<std::string> handled_netns_; // namespaces already dealt with under their run
  std::set<pid_t> handled_pids_;        // recorded processes already dealt with
};

std::string read_comm(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(f, comm);
  return comm;
}

// (device, inode) of a network namespace file: /run/netns/<name> or /proc/<pid>/ns/net.
std::optional<std::pair<dev_t, ino_t>> ns_identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(st.st_dev, st.st_ino);
}

std::vector<pid_t> processes_in_netns(const std::pair<dev_t, ino_t>& ns) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/proc", ec)) {
    auto name = e.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == ::getpid()) continue;
    if (ns_identity("/proc/" + name + "/ns/net") == ns) out.push_back(pid);
  }
  return out;
}


bool wait_exit(int pidfd, std::chrono::milliseconds within) {
  auto deadline = Clock::now() + within;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count())));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return false;
  }
}

bool is_mount_point_gone(int err) { return err == EINVAL || err == ENOENT; }

// A folder we may delete recursively: absolute, normalized, at least two levels deep.
bool safe_dir(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  fs::path p(path);
  if (p.lexically_normal() != p && p.lexically_normal().string() + "/" != path) return false;
  int depth = 0;
  for (auto& part : p.relative_path()) {
    if (part == "..") return false;
    if (!part.empty()) ++depth;
  }
  return depth >= 2;
}

}  // namespace

bool is_our_process_name(const std::string& comm) {
  // comm is truncated to 15 characters: "qemu-system-x86_64" reads "qemu-system-x86".
  static const char* const kOurs[] = {"charon", "qemu-system-x86", "ikestorm"};
  return std::any_of(std::begin(kOurs), std::end(kOurs), [&](const char* n) { return comm == n; });
}

std::string Action::describe() const {
  std::string what = kind + " " + name;
  std::string run = run_id.empty() ? "" : " (run " + run_id + ")";
  std::string why = detail.empty() ? "" : ": " + detail;
  switch (outcome) {
    case Outcome::removed: return "removed " + what + run + why;
    case Outcome::would_remove: return "would remove " + what + run + why;
    case Outcome::already_gone: return "already gone " + what + run + why;
    case Outcome::left_alone: return "left alone " + what + run + why;
    case Outcome::failed: return "failed to remove " + what + run + why;
  }
  return what;
}

int Summary::count(Outcome o) const {
  return static_cast<int>(std::count_if(actions.begin(), actions.end(),
                                        [&](const Action& a) { return a.outcome == o; }));
}

bool Cleaner::terminate(int pidfd) {
  if (signal_pidfd(pidfd, SIGTERM) != 0) return errno == ESRCH;
  if (wait_exit(pidfd, opt_.grace)) return true;
  if (signal_pidfd(pidfd, SIGKILL) != 0) return errno == ESRCH;
  return wait_exit(pidfd, std::chrono::seconds(5));
}

void Cleaner::stop_recorded_process(const std::string& run_id, const Resource& r) {
  std::istringstream is(r.detail);
  unsigned long long recorded_start = 0;
  std::string comm;
  is >> recorded_start;
  std::getline(is >> std::ws, comm);
  const std::string label = r.name + (comm.empty() ? "" : " " + comm);
  long pid_l = 0;
  auto [end, ec] = std::from_chars(r.name.data(), r.name.data() + r.name.size(), pid_l);
  if (ec != std::errc() || end != r.name.data() + r.name.size()) pid_l = 0;
  if (pid_l <= 1) return emit(Outcome::left_alone, run_id, "process", label, "not a valid pid");
  const pid_t pid = static_cast<pid_t>(pid_l);
  handled_pids_.insert(pid);
  if (recorded_start == 0)
    return emit(Outcome::left_alone, run_id, "process", label, "no start time recorded; cannot tell it from a reused pid");
  // Open the pidfd first, then compare start times: the pidfd pins the process we checked.
  unique_fd pidfd(open_pidfd(pid));
  if (!pidfd) return emit(Outcome::already_gone, run_id, "process", label);
  auto start = process_start_ticks(pid);
  if (!start) return emit(Outcome::already_gone, run_id, "process", label);
  if (*start != recorded_start)
    return emit(Outcome::already_gone, run_id, "process", label, "pid now belongs to another process");
  if (opt_.dry_run) return emit(done(), run_id, "process", label);
  if (terminate(pidfd.get())) return emit(Outcome::removed, run_id, "process", label);
  emit(Outcome::failed, run_id, "process", label, "still running after SIGKILL");
}

void Cleaner::remove_mount(const std::string& run_id, const std::string& path) {
  if (!safe_dir(path) || path.rfind("/run/netns", 0) == 0)
    return emit(Outcome::left_alone, run_id, "mount", path, "not a mount point clean may detach");
  if (opt_.dry_run) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return emit(Outcome::already_gone, run_id, "mount", path);
    return emit(done(), run_id, "mount", path);
  }
  if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
    return emit(Outcome::removed, run_id, "mount", path);
  if (is_mount_point_gone(errno)) return emit(Outcome::already_gone, run_id, "mount", path);
  emit(Outcome::failed, run_id, "mount", path, Error::sys("umount").describe());
}

void Cleaner::remove_netns(const std::string& run_id, const std::string& name, bool orphan) {
  const std::string kind = orphan ? "orphan netns" : "netns";
  handled_netns_.insert(name);
  if (name.rfind("ist-", 0) != 0 || run_id_of_name(name) != run_id)
    return emit(Outcome::left_alone, run_id, kind, name, "not named ist-" + run_id + "-*");
  auto ns = ns_identity(named_netns_path(name));
  if (!named_netns_exists(name) || !ns) return emit(Outcome::already_gone, run_id, kind, name);

  // What still runs inside keeps the namespace alive after its name is gone.
  for (pid_t pid : processes_in_netns(*ns)) {
    if (handled_pids_.count(pid) && opt_.dry_run) continue;  // already listed under its run
    std::string comm = read_comm(pid);
    std::string label = std::to_string(pid) + " " + comm;
    if (!is_our_process_name(comm)) {
      emit(Outcome::left_alone, run_id, "process", label, "runs in " + name + " but is not ours by name");
      continue;
    }
    if (opt_.dry_run) {
      emit(done(), run_id, "process", label, "in " + name);
      continue;
    }
    unique_fd pidfd(open_pidfd(pid));
    // Re-check through the pinned process: still in this namespace, still the same name.
    if (!pidfd || ns_identity("/proc/" + std::to_string(pid) + "/ns/net") != ns ||
        read_comm(pid) != comm) {
      emit(Outcome::already_gone, run_id, "process", label);
      continue;
    }
    if (terminate(pidfd.get()))
      emit(Outcome::removed, run_id, "process", label, "in " + name);
    else
      emit(Outcome::failed, run_id, "process", label, "still running after SIGKILL");
  }
  if (opt_.dry_run) return emit(done(), run_id, kind, name);
  if (auto st = remove_named_netns(name); !st)
    return emit(Outcome::failed, run_id, kind, name, st.error().describe());
  emit(Outcome::removed, run_id, kind, name);
}

void Cleaner::remove_link(const std::string& run_id, const Resource& r) {
  // A link inside one of our namespaces goes away with it.
  if (!r.detail.empty() && !named_netns_exists(r.detail))
    return emit(Outcome::already_gone, run_id, "link", r.name, "its namespace " + r.detail + " is gone");
  if (run_id_of_name(r.name) != run_id)
    return emit(Outcome::left_alone, run_id, "link", r.name, "not named ist" + run_id + "*");
  std::vector<std::string> argv;
  const std::string ip = ip_program();
  if (ip.empty()) return emit(Outcome::failed, run_id, "link", r.name, "ip (iproute2) not found");
  argv.push_back(ip);
  if (!r.detail.empty()) argv.insert(argv.end(), {"-n", r.detail});
  if (r.detail.empty() && ::if_nametoindex(r.name.c_str()) == 0)
    return emit(Outcome::already_gone, run_id, "link", r.name);
  if (opt_.dry_run) return emit(done(), run_id, "link", r.name);
  argv.insert(argv.end(), {"link", "delete", "dev", r.name});
  auto out = run_command(argv, std::chrono::seconds(10));
  if (out && out->status.exited && out->status.code == 0) return emit(Outcome::removed, run_id, "link", r.name);
  if (r.detail.empty() && ::if_nametoindex(r.name.c_str()) == 0)
    return emit(Outcome::already_gone, run_id, "link", r.name);
  emit(Outcome::failed, run_id, "link", r.name, out ? out->output : out.error().describe());
}

void Cleaner::remove_dir(const std::string& run_id, const std::string& path) {
  if (!safe_dir(path)) return emit(Outcome::left_alone, run_id, "dir", path, "not a path clean may delete");
  std::error_code ec;
  if (!fs::exists(path, ec)) return emit(Outcome::already_gone, run_id, "dir", path);
  if (opt_.dry_run) return emit(done(), run_id, "dir", path);
  fs::remove_all(path, ec);
  if (ec) return emit(Outcome::failed, run_id, "dir", path, ec.message());
  emit(Outcome::removed, run_id, "dir", path);
}

void Cleaner::clean_resource(RunState& state, const Resource& r) {
  const std::string& id = state.run_id();
  if (r.kind == resource_kind::process) return stop_recorded_process(id, r);
  if (r.kind == resource_kind::mount) return remove_mount(id, r.name);
  if (r.kind == resource_kind::netns) return remove_netns(id, r.name, false);
  if (r.kind == resource_kind::link) return remove_link(id, r);
  if (r.kind == resource_kind::dir) return remove_dir(id, r.name);
  // Keep the state folder: what we do not know we cannot prove gone.
  emit(Outcome::left_alone, id, r.kind, r.name, "unknown resource kind");
  run_failed_ = true;
}

void Cleaner::clean_run(const std::string& run_id) {
  auto opened = RunState::open(run_id);
  if (!opened) return;  // vanished meanwhile (its owner finished)
  RunState& state = opened.value();
  const bool has_owner = fs::exists(state.dir() + "/owner");
  if (state.owner_alive() && !opt_.force) {
    live_runs_.insert(run_id);
    return emit(Outcome::left_alone, run_id, "run", run_id,
                "owner pid " + std::to_string(state.owner_pid().value_or(0)) + " is alive (--force to clean it)");
  }
  if (!has_owner) {
    // A run between mkdir and writing its owner file: give it a moment.
    std::error_code ec;
    auto age = fs::file_time_type::clock::now() - fs::last_write_time(state.dir(), ec);
    if (!ec && age < std::chrono::seconds(10) && !opt_.force) {
      live_runs_.insert(run_id);
      return emit(Outcome::left_alone, run_id, "run", run_id, "just created, no owner yet");
    }
  }
  auto resources = state.live_resources();
  if (!resources) return emit(Outcome::failed, run_id, "state", state.dir(), resources.error().describe());
  run_failed_ = false;
  // Kind order (processes keep namespaces and mounts busy), journal order within a kind.
  const std::string_view order[] = {resource_kind::process, resource_kind::mount,
                                    resource_kind::netns, resource_kind::link, resource_kind::dir};
  for (auto kind : order)
    for (const auto& r : *resources)
      if (r.kind == kind) {
        clean_resource(state, r);
        if (!opt_.dry_run && summary_.actions.back().outcome != Outcome::failed) (void)state.forget(r);
      }
  for (const auto& r : *resources)
    if (std::find(std::begin(order), std::end(order), r.kind) == std::end(order)) clean_resource(state, r);

  if (run_failed_) return;  // keep the journal for the next clean
  if (opt_.dry_run) return emit(done(), run_id, "state", state.dir());
  if (auto st = state.remove(); !st) return emit(Outcome::failed, run_id, "state", state.dir(), st.error().describe());
  emit(Outcome::removed, run_id, "state", state.dir());
}

void Cleaner::clean_orphan_namespaces() {
  for (const auto& name : list_named_netns()) {
    if (name.rfind("ist-", 0) != 0 || handled_netns_.count(name)) continue;
    auto id = run_id_of_name(name);
    if (!id) continue;
    if (!opt_.run_id.empty() && *id != opt_.run_id) continue;
    if (live_runs_.count(*id)) continue;
    // A run that started after list_runs(): its folder exists now, its owner lives.
    if (auto st = RunState::open(*id); st && st->owner_alive() && !opt_.force) continue;
    remove_netns(*id, name, true);
  }
}

Summary Cleaner::run() {
  std::vector<std::string> runs;
  if (!opt_.run_id.empty()) {
    if (fs::exists(state_root() + "/" + opt_.run_id)) runs.push_back(opt_.run_id);
  } else {
    runs = RunState::list_runs();
  }
  for (const auto& id : runs) clean_run(id);
  clean_orphan_namespaces();
  return std::move(summary_);
}

Summary clean(const Options& options, const std::function<void(const Action&)>& on_action) {
  Cleaner c(options, on_action);
  return c.run();
}

}  // namespace ist::cleanup
