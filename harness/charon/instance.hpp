#pragma once
// One charon daemon the harness started: in a named network namespace, with a private /run
// (charon's pid file path is fixed), its own strongswan.conf, vici socket and log, all in
// its work dir. Ready when vici answers `version` and every requested plugin is loaded.
// A daemon that dies on its own is not an error here: alive() turns false, pidfd() becomes
// readable and exit_status() says how it ended; the orchestrator turns that into an event.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "charon/settings.hpp"
#include "common/child_process.hpp"
#include "common/result.hpp"
#include "common/run_state.hpp"

namespace ist::charon {

struct InstanceOptions {
  std::string name;            // for logs and errors: "sut", "init0"
  std::string netns;           // named namespace to run in; empty = the harness's own
  std::string work_dir;        // absolute, outside /run; created if missing. Holds
                               // strongswan.conf, run/ (the private /run), charon.out,
                               // charon.log and charon.vici
  CharonSettings settings;     // vici_socket and filelog.path are filled in when empty
  std::string charon_path = "/usr/lib/ipsec/charon";
  std::string plugin_dir = std::string(kDefaultPluginDir);
  std::chrono::milliseconds ready_timeout{10000};
  RunState* run_state = nullptr;  // the run's journal: the pid is recorded while it runs
};

class Instance {
 public:
  static Result<Instance> start(const InstanceOptions& options);

  Instance(Instance&&) noexcept;
  Instance& operator=(Instance&&) noexcept;
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance();  // stop() if still running

  // SIGTERM, up to `grace` for charon to shut down, then SIGKILL; reaps it and removes it
  // from the run journal. Safe to call again or after the daemon died by itself.
  ExitStatus stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

  bool alive();                                  // non-blocking; reaps a dead daemon
  int pidfd() const { return process_.pidfd(); } // readable once the daemon has exited
  pid_t pid() const { return process_.pid(); }
  const std::optional<ExitStatus>& exit_status() const { return process_.status(); }
  std::optional<ProcessUsage> usage() const;     // CPU and peak RSS; nullopt once reaped

  const std::string& name() const { return name_; }
  const std::string& work_dir() const { return work_dir_; }
  const std::string& vici_socket() const { return vici_socket_; }  // path to connect to
  const std::string& log_path() const { return log_path_; }        // the filelog
  const std::string& conf_path() const { return conf_path_; }      // strongswan.conf
  const std::string& output_path() const { return output_path_; }  // stdout/stderr
  const std::string& daemon_version() const { return version_; }   // "charon 5.9.8 (Linux ...)"
  const std::vector<std::string>& plugins() const { return plugins_; }  // as loaded, in order

 private:
  Instance() = default;
  void forget();

  std::string name_, work_dir_, vici_socket_, log_path_, conf_path_, output_path_, version_;
  std::vector<std::string> plugins_;
  ChildProcess process_;
  RunState* run_state_ = nullptr;
  bool journaled_ = false;
};

// Unix socket paths are limited to 107 bytes; the default socket lives in the work dir.
inline constexpr std::size_t kMaxUnixSocketPath = 107;

}  // namespace ist::charon
