#pragma once
// The guest's initramfs, built at run time: busybox-static, the kernel modules the guest needs
// before it can reach the host root (virtio, 9p, overlay) and the IPsec ones (xfrm_user,
// esp4/esp6, AEAD/hash templates) with their dependencies from modules.dep, the static
// control agent, and an /init script (busybox sh) that mounts the host root read-only over
// 9p, puts a tmpfs overlay on it and switch_roots into it with the agent as PID 1.
//
// Cached as <cache_dir>/initramfs-<release>-<hash>.cpio, the hash covering every byte that goes
// in (init script, module list and files, busybox, agent), so a rebuilt agent or another kernel
// gets a new file and a cached one is reused as is.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ist::vm {

// modules.dep / modules.builtin of one kernel, by module name ('-' and '_' are the same).
class ModuleIndex {
 public:
  static Result<ModuleIndex> load(const std::string& modules_dir);
  // Parses the two files' text (tests).
  static ModuleIndex parse(std::string_view modules_dep, std::string_view modules_builtin);

  bool is_builtin(const std::string& name) const;
  bool has_module(const std::string& name) const;
  // Files (relative to the modules dir) to insmod for `names`, dependencies first, each
  // once; built-in names are skipped. Error naming a module that is neither.
  Result<std::vector<std::string>> load_order(const std::vector<std::string>& names) const;

  static std::string module_name(std::string_view path);  // "kernel/x/esp4.ko.xz" -> "esp4"

 private:
  std::map<std::string, std::string> path_;               // name -> relative path
  std::map<std::string, std::vector<std::string>> deps_;  // name -> dependency names
  std::set<std::string> builtin_;
};

// The modules every guest gets (names; the IPsec ones the kernel may also autoload later).
const std::vector<std::string>& guest_modules();

// newc ("070701") cpio archive, written in memory.
class CpioWriter {
 public:
  void add_dir(const std::string& path, unsigned mode = 0755);
  void add_file(const std::string& path, std::string_view data, unsigned mode = 0644);
  void add_char_device(const std::string& path, unsigned major, unsigned minor, unsigned mode = 0600);
  // Appends the trailer and returns the archive.
  std::string finish();

 private:
  void add_entry(const std::string& path, unsigned mode, std::string_view data, unsigned rmajor = 0,
                 unsigned rminor = 0);
  std::string out_;
  std::uint32_t next_ino_ = 1;
};

// The /init script (busybox sh).
const std::string& guest_init_script();

struct InitramfsSpec {
  std::string kernel_release;
  std::string modules_dir;  // /lib/modules/<release>
  std::string busybox_path;
  std::string agent_path;
  std::vector<std::string> extra_modules;
  std::string cache_dir;
};

struct Initramfs {
  std::string path;
  bool cached = false;                 // found in the cache, not built
  std::vector<std::string> modules;    // insmod order (relative paths)
};

// Builds (and caches) the initramfs; keeps the 4 newest of this release in the cache.
Result<Initramfs> build_initramfs(const InitramfsSpec& spec);

// Removes all but the `keep` newest files in `dir` whose names start with `prefix`.
void prune_cache(const std::string& dir, const std::string& prefix, std::size_t keep);

}  // namespace ist::vm
