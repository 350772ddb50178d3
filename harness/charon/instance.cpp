#include "charon/instance.hpp"

#include <poll.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/event_loop.hpp"
#include "common/file_write.hpp"
#include "common/log.hpp"
#include "vici/session.hpp"

namespace ist::charon {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The last `n` lines of a file, for error messages ("" if unreadable).
std::string tail_lines(const std::string& path, std::size_t n) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(f, line)) {
    lines.push_back(line);
    if (lines.size() > n) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

Status remove_stale(const std::string& path) {
  std::error_code ec;
  fs::remove(path, ec);
  if (ec) return Error("removing stale " + path + ": " + ec.message(), ec.value());
  return ok();
}

struct Answer {
  std::string version;
  std::vector<std::string> plugins;
};

// One attempt: connect, ask `version` and `stats`. Errors when the socket is not there yet.
Result<Answer> ask_daemon(const std::string& socket, std::chrono::milliseconds timeout) {
  EventLoop loop;
  if (!loop.valid()) return Error::sys("creating an event loop");
  IST_TRY_ASSIGN(auto session, vici::Session::connect(loop, socket));
  IST_TRY_ASSIGN(vici::Message version, session->call("version", {}, timeout));
  IST_TRY_ASSIGN(vici::Message stats, session->call("stats", {}, timeout));
  Answer a;
  a.version = version.get_or("daemon", "charon") + " " + version.get_or("version", "?") + " (" +
              version.get_or("sysname", "?") + " " + version.get_or("release", "?") + " " +
              version.get_or("machine", "?") + ")";
  if (const auto* list = stats.find_list("plugins"))
    for (const auto& p : *list)
      if (p != "charon") a.plugins.push_back(p);  // the daemon's built-in features
  return a;
}

}  // namespace

Result<Instance> Instance::start(const InstanceOptions& o) {
  const std::string what = "starting charon '" + o.name + "'";
  auto fail = [&](Error e) { return std::move(e).wrap(what); };

  if (o.work_dir.empty() || o.work_dir.front() != '/')
    return fail(Error("work dir must be an absolute path: '" + o.work_dir + "'"));
  {
    const fs::path wd = fs::path(o.work_dir).lexically_normal();
    if (wd == "/run" || wd.string().starts_with("/run/"))
      return fail(Error("work dir " + o.work_dir +
                        " is under /run, which the daemon's private /run hides from it"));
  }
  std::error_code ec;
  fs::create_directories(o.work_dir + "/run", ec);
  if (ec) return fail(Error("creating " + o.work_dir + "/run: " + ec.message(), ec.value()));

  Instance inst;
  inst.name_ = o.name;
  inst.work_dir_ = o.work_dir;
  inst.conf_path_ = o.work_dir + "/strongswan.conf";
  inst.output_path_ = o.work_dir + "/charon.out";

  CharonSettings settings = o.settings;
  if (settings.vici_socket.empty()) settings.vici_socket = o.work_dir + "/charon.vici";
  if (settings.filelog.path.empty()) settings.filelog.path = o.work_dir + "/charon.log";
  if (settings.vici_socket.size() > kMaxUnixSocketPath)
    return fail(Error("vici socket path " + settings.vici_socket + " is longer than " +
                      std::to_string(kMaxUnixSocketPath) + " bytes; use a shorter output folder"));
  inst.vici_socket_ = settings.vici_socket;
  inst.log_path_ = settings.filelog.path;

  const auto wanted_plugins = plugin_list(settings.backend, settings.extra_plugins);
  if (auto st = check_plugins_installed(wanted_plugins, o.plugin_dir); !st)
    return fail(std::move(st).error());
  IST_TRY_ASSIGN(std::string conf, render_strongswan_conf(settings));
  if (auto st = write_file_atomic(inst.conf_path_, conf); !st) return fail(std::move(st).error());
  // A socket or pid file left by an earlier daemon in this folder would be mistaken for ours
  // (the socket) or make charon refuse to start (the pid file).
  for (const auto& stale : {inst.vici_socket_, o.work_dir + "/run/charon.pid"})
    if (auto st = remove_stale(stale); !st) return fail(std::move(st).error());

  SpawnOptions spawn;
  spawn.argv = {o.charon_path};
  spawn.extra_env = {"STRONGSWAN_CONF=" + inst.conf_path_};
  spawn.netns = o.netns;
  spawn.private_run_dir = o.work_dir + "/run";
  spawn.stdout_path = inst.output_path_;
  spawn.cwd = o.work_dir;
  auto child = ChildProcess::spawn(spawn);
  if (!child) return fail(std::move(child).error());
  inst.process_ = std::move(child).value();
  inst.run_state_ = o.run_state;
  if (inst.run_state_) {
    if (auto st = inst.run_state_->record_process(inst.process_.pid(), "charon"); !st)
      return fail(std::move(st).error().wrap("journaling the daemon's pid"));
    inst.journaled_ = true;
  }

  // Ready when vici answers. Between attempts, wait on the pidfd so a daemon that dies
  // during startup is noticed at once.
  const auto deadline = Clock::now() + o.ready_timeout;
  Error last("no answer yet");
  for (;;) {
    if (!inst.process_.running()) {
      Error e("charon " + inst.process_.status()->describe() + " during startup; last output:" +
              tail_lines(inst.output_path_, 10) + "\nlast log lines:" + tail_lines(inst.log_path_, 10));
      inst.forget();
      return fail(std::move(e));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      inst.stop();
      return fail(Error("vici at " + inst.vici_socket_ + " did not answer within " +
                        std::to_string(o.ready_timeout.count()) + " ms (last: " + last.describe() +
                        "); last log lines:" + tail_lines(inst.log_path_, 10)));
    }
    auto answer = ask_daemon(inst.vici_socket_, std::max(left, std::chrono::milliseconds(1)));
    if (answer) {
      inst.version_ = answer->version;
      inst.plugins_ = answer->plugins;
      break;
    }
    last = std::move(answer).error();
    pollfd p{inst.process_.pidfd(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<long>(25, left.count())));
  }

  std::string missing;
  for (const auto& p : wanted_plugins)
    if (std::find(inst.plugins_.begin(), inst.plugins_.end(), p) == inst.plugins_.end())
      missing += " " + p;
  if (!missing.empty()) {
    inst.stop();
    return fail(Error("charon did not load the plugins" + missing + "; see " + inst.log_path_));
  }
  log::debug("charon '", inst.name_, "' ready: pid ", inst.pid(), ", ", inst.version_);
  return inst;
}

Instance::Instance(Instance&& o) noexcept
    : name_(std::move(o.name_)),
      work_dir_(std::move(o.work_dir_)),
      vici_socket_(std::move(o.vici_socket_)),
      log_path_(std::move(o.log_path_)),
      conf_path_(std::move(o.conf_path_)),
      output_path_(std::move(o.output_path_)),
      version_(std::move(o.version_)),
      plugins_(std::move(o.plugins_)),
      process_(std::move(o.process_)),
      run_state_(std::exchange(o.run_state_, nullptr)),
      journaled_(std::exchange(o.journaled_, false)) {}

Instance& Instance::operator=(Instance&& o) noexcept {
  if (this != &o) {
    stop();
    name_ = std::move(o.name_);
    work_dir_ = std::move(o.work_dir_);
    vici_socket_ = std::move(o.vici_socket_);
    log_path_ = std::move(o.log_path_);
    conf_path_ = std::move(o.conf_path_);
    output_path_ = std::move(o.output_path_);
    version_ = std::move(o.version_);
    plugins_ = std::move(o.plugins_);
    process_ = std::move(o.process_);
    run_state_ = std::exchange(o.run_state_, nullptr);
    journaled_ = std::exchange(o.journaled_, false);
  }
  return *this;
}

Instance::~Instance() { stop(); }

ExitStatus Instance::stop(std::chrono::milliseconds grace) {
  if (process_.pid() <= 0) return ExitStatus{};
  ExitStatus st = process_.stop(grace);
  forget();
  return st;
}

void Instance::forget() {
  if (!journaled_ || !run_state_) return;
  // Forget only once the process is reaped: a journal entry must never outlive the truth.
  if (!process_.status()) return;
  if (auto st = run_state_->forget({std::string(resource_kind::process), std::to_string(process_.pid()), ""});
      !st)
    log::warn("charon '", name_, "': could not update the run journal: ", st.error().describe());
  journaled_ = false;
}

bool Instance::alive() {
  bool running = process_.running();
  if (!running) forget();
  return running;
}

std::optional<ProcessUsage> Instance::usage() const {
  if (process_.pid() <= 0 || process_.status()) return std::nullopt;
  return process_usage(process_.pid());
}

}  // namespace ist::charon
