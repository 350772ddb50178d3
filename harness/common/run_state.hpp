#pragma once
// Per-run state on disk, so that `ikestorm clean` can find and remove what a run created
// even after the harness was SIGKILLed. Layout (docs/design.md, "Cleanup and the run journal"):
//
//   /run/ikestorm/<runid>/owner       "<pid> <starttime-ticks>" of the harness process
//   /run/ikestorm/<runid>/resources   write-ahead journal, one line per change:
//                                     "+ <kind> <name> [detail...]" before creating,
//                                     "- <kind> <name>" after removing
//
// The state root can be moved with IKESTORM_STATE_DIR (tests use it to stay apart).
// Names: namespaces "ist-<runid>-<role>", interfaces "ist<runid><tag>" (tag <= 4 chars),
// nftables tables "ist_<runid>".
#include <sys/types.h>

#include <map>
#include <tuple>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ist {

// Resource kinds the journal knows. `clean` removes them in this order: processes first
// (they keep namespaces and mounts busy), then mounts, namespaces, directories.
namespace resource_kind {
inline constexpr std::string_view process = "process";  // name=pid, detail="<starttime> <comm>"
inline constexpr std::string_view mount = "mount";      // name=mount point
inline constexpr std::string_view netns = "netns";      // name=namespace name
inline constexpr std::string_view link = "link";        // name=ifname, detail=netns ("" = host)
inline constexpr std::string_view dir = "dir";          // name=path, removed recursively
}  // namespace resource_kind

struct Resource {
  std::string kind;
  std::string name;
  std::string detail;
  bool operator<(const Resource& o) const {
    return std::tie(kind, name) < std::tie(o.kind, o.name);
  }
};

std::string state_root();                       // /run/ikestorm or $IKESTORM_STATE_DIR
std::string new_run_id();                       // 6 lowercase hex digits, random
bool is_valid_run_id(std::string_view id);
std::string netns_name(std::string_view run_id, std::string_view role);  // ist-<id>-<role>
std::string link_name(std::string_view run_id, std::string_view tag);    // ist<id><tag>
std::string nft_table_name(std::string_view run_id);                     // ist_<id>
// The run id inside a name we made ("ist-abc123-sut", "istabc123v0", "ist_abc123"), if any.
std::optional<std::string> run_id_of_name(std::string_view name);

class RunState {
 public:
  // Creates the state folder for a new run owned by this process.
  static Result<RunState> create(const std::string& run_id);
  // Opens an existing run's folder (for `clean`).
  static Result<RunState> open(const std::string& run_id);
  // Run ids with a state folder.
  static std::vector<std::string> list_runs();

  RunState(RunState&&) = default;
  RunState& operator=(RunState&&) = default;

  const std::string& run_id() const { return run_id_; }
  const std::string& dir() const { return dir_; }

  // Journal a resource before creating it, and after removing it.
  Status record(const Resource& r);
  Status forget(const Resource& r);
  Status record_process(pid_t pid, std::string_view comm);

  // A scratch folder of this run's own, <state dir>/<name> (one path component), created
  // 0700 with mkdir(): an existing folder of that name is refused, never reused. Journaled
  // as a dir resource before it is made, so `clean` removes it after a SIGKILL. Vici
  // sockets (which carry the PSK) live here when the --out path is too long for them.
  Result<std::string> create_private_dir(std::string_view name);
  // Resources recorded and not forgotten, in journal order.
  Result<std::vector<Resource>> live_resources() const;

  // The owning harness process is alive (pid and start time both match).
  bool owner_alive() const;
  std::optional<pid_t> owner_pid() const;

  // Removes the state folder (call when every resource was torn down).
  Status remove();

 private:
  RunState(std::string run_id, std::string dir) : run_id_(std::move(run_id)), dir_(std::move(dir)) {}
  Status append(std::string_view line);
  std::string run_id_;
  std::string dir_;
};

}  // namespace ist
