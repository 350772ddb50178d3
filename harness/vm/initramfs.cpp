#include "vm/initramfs.hpp"

#include "common/file_write.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace ist::vm {
namespace {

std::string normalize(std::string_view name) {
  std::string n(name);
  for (char& c : n)
    if (c == '-') c = '_';
  return n;
}

Result<std::string> read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error::sys("reading " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Error::sys("reading " + path);
  return ss.str();
}

// FNV-1a, 64 bit: a cache key, not a security measure.
struct Fnv {
  std::uint64_t h = 1469598103934665603ull;
  void add(std::string_view data) {
    for (unsigned char c : data) {
      h ^= c;
      h *= 1099511628211ull;
    }
    h ^= 0xff;  // field separator, so ("ab","c") != ("a","bc")
    h *= 1099511628211ull;
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
    return buf;
  }
};

std::string hex8(std::uint32_t v) {
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08X", v);
  return buf;
}

}  // namespace

void prune_cache(const std::string& dir, const std::string& prefix, std::size_t keep) {
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && name.find(".tmp.") == std::string::npos && e.is_regular_file(ec))
      files.emplace_back(e.last_write_time(ec), e.path());
  }
  if (files.size() <= keep) return;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (std::size_t i = keep; i < files.size(); ++i) fs::remove(files[i].second, ec);
}

// ------------------------------------------------------------------ modules

std::string ModuleIndex::module_name(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash != std::string_view::npos) path.remove_prefix(slash + 1);
  auto ko = path.find(".ko");
  if (ko != std::string_view::npos) path = path.substr(0, ko);
  return normalize(path);
}

ModuleIndex ModuleIndex::parse(std::string_view modules_dep, std::string_view modules_builtin) {
  ModuleIndex idx;
  auto lines = [](std::string_view text, auto&& fn) {
    std::size_t pos = 0;
    while (pos < text.size()) {
      auto end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      auto line = text.substr(pos, end - pos);
      if (!line.empty()) fn(line);
      pos = end + 1;
    }
  };
  lines(modules_dep, [&](std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return;
    std::string path(line.substr(0, colon));
    std::string name = module_name(path);
    idx.path_[name] = path;
    auto& deps = idx.deps_[name];
    std::istringstream rest{std::string(line.substr(colon + 1))};
    std::string dep;
    while (rest >> dep) deps.push_back(module_name(dep));
  });
  lines(modules_builtin, [&](std::string_view line) { idx.builtin_.insert(module_name(line)); });
  return idx;
}

Result<ModuleIndex> ModuleIndex::load(const std::string& modules_dir) {
  IST_TRY_ASSIGN(auto dep, read_whole_file(modules_dir + "/modules.dep"));
  auto builtin = read_whole_file(modules_dir + "/modules.builtin");  // absent: nothing built in
  return parse(dep, builtin ? *builtin : std::string());
}

bool ModuleIndex::is_builtin(const std::string& name) const { return builtin_.count(normalize(name)) > 0; }
bool ModuleIndex::has_module(const std::string& name) const { return path_.count(normalize(name)) > 0; }

Result<std::vector<std::string>> ModuleIndex::load_order(const std::vector<std::string>& names) const {
  std::vector<std::string> order;
  std::set<std::string> done, visiting;
  // Depth-first: a module's dependencies go before it. modules.dep has no cycles, but a
  // corrupt one must not recurse forever.
  std::function<Status(const std::string&)> visit = [&](const std::string& name) -> Status {
    if (done.count(name)) return ok();
    if (!path_.count(name)) {
      if (builtin_.count(name)) return ok();
      return Error("kernel module " + name + " is neither a module nor built in");
    }
    if (!visiting.insert(name).second) return Error("dependency cycle through module " + name);
    auto it = deps_.find(name);
    if (it != deps_.end())
      for (const auto& d : it->second) IST_TRY(visit(d));
    visiting.erase(name);
    done.insert(name);
    order.push_back(path_.at(name));
    return ok();
  };
  for (const auto& n : names) IST_TRY(visit(normalize(n)));
  return order;
}

const std::vector<std::string>& guest_modules() {
  static const std::vector<std::string> names = {
      // reaching the host: PCI virtio, the NIC, the control port, the host root, the overlay
      "virtio_pci", "virtio_net", "virtio_console", "9pnet_virtio", "9p", "overlay",
      // IPsec: XFRM netlink, ESP, the AEAD and template algorithms charon's proposals use
      "xfrm_user", "esp4", "esp6", "authenc", "authencesn", "gcm", "ghash_generic", "seqiv",
      "echainiv", "ctr", "ccm", "cmac", "xcbc", "sha512_generic", "chacha20poly1305", "chacha_generic",
      "poly1305_generic",
      // faster implementations where the (virtual) CPU has the instructions; an insmod that
      // fails for want of them is harmless
      "aesni_intel", "ghash_clmulni_intel", "sha256_ssse3", "sha512_ssse3", "chacha_x86_64",
      "poly1305_x86_64",
      // older proposals charon still accepts (3DES, SHA-1 is built in)
      "des_generic", "des3_ede_x86_64",
      // the default RNG seqiv/echainiv draw their IVs from
      "drbg", "jitterentropy_rng", "ansi_cprng",
      // what a whole run (`run --in-vm`, or `run` by hand in the guest) builds its topology
      // from: veth pairs, port-less bridges holding the peer addresses, AF_PACKET (native
      // engine), tbf (link.rate), nf_tables with numgen (link.loss), TUN (libipsec), netem
      // (probe); libcrc32c, which nf_tables needs, asks the crypto API for crc32c when it loads
      "veth", "bridge", "af_packet", "sch_tbf", "sch_netem", "crc32c_generic", "nf_tables", "nft_numgen", "tun"};
  return names;
}

// ------------------------------------------------------------------ cpio

void CpioWriter::add_entry(const std::string& path, unsigned mode, std::string_view data, unsigned rmajor,
                           unsigned rminor) {
  const std::uint32_t fields[13] = {next_ino_++, mode, 0, 0, (mode & S_IFMT) == S_IFDIR ? 2u : 1u, 0,
                                    static_cast<std::uint32_t>(data.size()), 0, 0, rmajor, rminor,
                                    static_cast<std::uint32_t>(path.size() + 1), 0};
  out_ += "070701";
  for (auto f : fields) out_ += hex8(f);
  out_ += path;
  out_.push_back('\0');
  out_.resize((out_.size() + 3) & ~std::size_t{3}, '\0');
  out_.append(data);
  out_.resize((out_.size() + 3) & ~std::size_t{3}, '\0');
}

void CpioWriter::add_dir(const std::string& path, unsigned mode) { add_entry(path, S_IFDIR | mode, {}); }
void CpioWriter::add_file(const std::string& path, std::string_view data, unsigned mode) {
  add_entry(path, S_IFREG | mode, data);
}
void CpioWriter::add_char_device(const std::string& path, unsigned major, unsigned minor, unsigned mode) {
  add_entry(path, S_IFCHR | mode, {}, major, minor);
}

std::string CpioWriter::finish() {
  add_entry("TRAILER!!!", 0, {});
  return std::move(out_);
}

// ------------------------------------------------------------------ init

const std::string& guest_init_script() {
  static const std::string script = R"SH(#!/bin/busybox sh
# ikestorm guest, stage 1: modules, the host root over 9p (read-only) under a tmpfs overlay,
# then switch_root into it with the control agent as PID 1.
/bin/busybox --install -s /bin
export PATH=/bin
mkdir -p /proc /sys /dev /lower /upper /newroot
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
fail() { echo "ist-init: $*"; sync; poweroff -f; sleep 10; }
stage() { read -r up idle < /proc/uptime; echo "ist-init: $up s: $*"; }
stage "loading modules"
while read -r m; do
  insmod "/modules/$m" || echo "ist-init: insmod $m failed (continuing)"
done < /modules.list
stage "mounting the host root"
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostroot /lower ||
  fail "mounting the host root over 9p"
mount -t tmpfs -o mode=0755 tmpfs /upper || fail "mounting the overlay's tmpfs"
mkdir -p /upper/data /upper/work
mount -t overlay -o lowerdir=/lower,upperdir=/upper/data,workdir=/upper/work overlay /newroot ||
  fail "mounting the overlay"
mount -t proc proc /newroot/proc || fail "mounting /proc"
mount -t sysfs sysfs /newroot/sys || fail "mounting /sys"
mount -t devtmpfs devtmpfs /newroot/dev || fail "mounting /dev"
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts -o newinstance,ptmxmode=0666 devpts /newroot/dev/pts
mount -t tmpfs -o mode=1777 tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=0755 tmpfs /newroot/run || fail "mounting /run"
# /tmp stays the host's (read-only below the overlay, writable above it): a harness built
# under /tmp runs its own binary in the guest (the xfrm watcher, the data-plane sink).
mkdir -p /newroot/run/ist
cp /ist-vm-agent /newroot/run/ist/agent || fail "copying the agent"
# The kernel's module autoloader: every algorithm name the crypto API meets is asked for
# twice, and under TCG even the static busybox modprobe (parsing modules.alias over 9p) costs
# ~1 s a call. The IPsec modules are preloaded above, so by default the autoloader is a
# static `false`; ist.autoload=1 on the command line lets busybox modprobe load the rest.
cp /bin/busybox /newroot/run/ist/busybox && ln -s busybox /newroot/run/ist/modprobe &&
  ln -s busybox /newroot/run/ist/false || fail "copying busybox"
case " $(cat /proc/cmdline) " in
  *" ist.autoload=1 "*) echo /run/ist/modprobe > /proc/sys/kernel/modprobe ;;
  *) echo /run/ist/false > /proc/sys/kernel/modprobe ;;
esac
hostname ist-guest
ip link set lo up
stage "switching root"
exec switch_root /newroot /run/ist/agent
)SH";
  return script;
}

// ------------------------------------------------------------------ build

Result<Initramfs> build_initramfs(const InitramfsSpec& spec) {
  IST_TRY_ASSIGN(auto index, ModuleIndex::load(spec.modules_dir));
  auto names = guest_modules();
  names.insert(names.end(), spec.extra_modules.begin(), spec.extra_modules.end());
  IST_TRY_ASSIGN(auto order, index.load_order(names));
  IST_TRY_ASSIGN(auto busybox, read_whole_file(spec.busybox_path));
  IST_TRY_ASSIGN(auto agent, read_whole_file(spec.agent_path));

  Initramfs result;
  std::string list;
  std::vector<std::pair<std::string, std::string>> module_files;  // flat name, content
  for (const auto& rel : order) {
    std::string base = fs::path(rel).filename().string();
    if (base.size() < 3 || base.compare(base.size() - 3, 3, ".ko") != 0)
      return Error("module " + rel + " is compressed; only plain .ko modules are supported");
    IST_TRY_ASSIGN(auto data, read_whole_file(spec.modules_dir + "/" + rel));
    list += base + "\n";
    module_files.emplace_back(base, std::move(data));
    result.modules.push_back(rel);
  }

  Fnv key;
  key.add(spec.kernel_release);
  key.add(guest_init_script());
  key.add(list);
  for (const auto& [name, data] : module_files) key.add(data);
  key.add(busybox);
  key.add(agent);

  std::error_code ec;
  fs::create_directories(spec.cache_dir, ec);
  if (ec) return Error("creating the initramfs cache " + spec.cache_dir + ": " + ec.message());
  result.path = spec.cache_dir + "/initramfs-" + spec.kernel_release + "-" + key.hex() + ".cpio";
  if (fs::is_regular_file(result.path, ec)) {
    result.cached = true;
    fs::last_write_time(result.path, fs::file_time_type::clock::now(), ec);  // in use: newest
    prune_cache(spec.cache_dir, "initramfs-" + spec.kernel_release + "-", 4);
    return result;
  }

  CpioWriter cpio;
  for (const char* dir : {"bin", "dev", "proc", "sys", "modules", "lower", "upper", "newroot"}) cpio.add_dir(dir);
  cpio.add_char_device("dev/console", 5, 1);
  cpio.add_char_device("dev/null", 1, 3, 0666);
  cpio.add_file("bin/busybox", busybox, 0755);
  cpio.add_file("init", guest_init_script(), 0755);
  cpio.add_file("ist-vm-agent", agent, 0755);
  cpio.add_file("modules.list", list);
  for (const auto& [name, data] : module_files) cpio.add_file("modules/" + name, data);
  IST_TRY(write_file_atomic(result.path, cpio.finish()));
  prune_cache(spec.cache_dir, "initramfs-" + spec.kernel_release + "-", 4);
  return result;
}

}  // namespace ist::vm
