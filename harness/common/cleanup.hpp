#pragma once
// What `ikestorm clean` does: removes what runs left behind (a SIGKILLed harness, a crash).
//
// For each run with a state folder (RunState::list_runs()) whose owner is dead (or every run
// with `force`), in this order: recorded processes (only while pid AND start time still match
// the journal, so a recycled pid is never hit; SIGTERM, grace, SIGKILL), recorded mounts,
// recorded namespaces (after stopping what still runs inside them, see below), recorded host
// links, recorded folders, then the state folder itself.
//
// Then orphans: every /run/netns/ist-<runid>-* whose run has no state folder or a dead owner.
// Processes inside a namespace being removed are found by namespace inode; they are stopped
// only when they are ours by name (charon, qemu, ikestorm); anything else is reported and
// left running. Nothing that is neither recorded by a run nor named ist-/ist_ is touched.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace ist::cleanup {

struct Options {
  bool dry_run = false;   // report what would be removed; change nothing
  bool force = false;     // also runs whose owner is alive
  std::string run_id;     // only this run (its state and its ist-<id>-* namespaces); "" = all
  std::chrono::milliseconds grace{2000};  // SIGTERM -> SIGKILL
};

enum class Outcome {
  removed,       // it existed and is gone now
  would_remove,  // dry run
  already_gone,  // recorded, but not there any more (or the pid belongs to someone else)
  left_alone,    // deliberately not touched (live run, foreign process, unknown kind)
  failed,        // tried and could not
};

struct Action {
  Outcome outcome = Outcome::removed;
  std::string run_id;
  std::string kind;    // process, mount, netns, link, dir, state, run, or a journal kind
  std::string name;
  std::string detail;  // why (left alone / failed / already gone), or extra context
  std::string describe() const;  // one line, e.g. "removed netns ist-abc123-sut (run abc123)"
};

struct Summary {
  std::vector<Action> actions;
  int count(Outcome o) const;
  bool ok() const { return count(Outcome::failed) == 0; }
};

// Process names (comm, as the kernel truncates them to 15 characters) that clean may stop
// when it finds them inside one of our namespaces.
bool is_our_process_name(const std::string& comm);

// Runs the clean. `on_action` sees every action as it happens (for printing).
Summary clean(const Options& options, const std::function<void(const Action&)>& on_action = {});

}  // namespace ist::cleanup
