#include "vm/guest.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/file_write.hpp"
#include "common/log.hpp"
#include "common/probe.hpp"
#include "netns/rtnl.hpp"
#include "vm/initramfs.hpp"
#include "vm/kernel_image.hpp"
#include "vm/protocol.hpp"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace ist::vm {
namespace {

constexpr std::size_t kMaxUnixPath = sizeof(sockaddr_un{}.sun_path) - 1;
constexpr std::string_view kQemuComm = "qemu-system-x86";  // comm is cut at 15 characters

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

milliseconds left_until(Clock::time_point deadline) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

// The last `n` lines of a text file, for error messages.
std::string tail_of(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    if (lines.size() > n) lines.erase(lines.begin());
  }
  std::string out;
  for (const auto& l : lines) out += "\n  | " + l;
  return out;
}

std::string first_line(const std::string& text) {
  auto end = text.find('\n');
  return text.substr(0, end);
}

// A locally administered unicast MAC from the tap name, stable per name.
std::string mac_for(const std::string& tap) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : tap) h = (h ^ c) * 16777619u;
  char buf[18];
  std::snprintf(buf, sizeof buf, "52:54:%02x:%02x:%02x:%02x", (h >> 24) & 0xff, (h >> 16) & 0xff, (h >> 8) & 0xff,
                h & 0xff);
  return buf;
}

Result<ExitStatus> parse_status(const std::string& how, const std::string& code_text) {
  std::uint64_t code = 0;
  if (!proto::parse_u64(code_text, code)) return Error("agent sent a bad exit code '" + code_text + "'");
  ExitStatus st;
  if (how == proto::kExited) {
    st.exited = true;
    st.code = static_cast<int>(code);
  } else {
    st.signal = static_cast<int>(code);
  }
  return st;
}

// The kvm verdict of this host boot (/run is a tmpfs): probing it takes up to 5 s where KVM
// hangs, as it does under some nested hypervisors.
constexpr const char* kKvmVerdictFile = "/run/ikestorm-vm-kvm";

Accel choose_accel(const GuestOptions& o, const std::string& qemu, const std::string& kernel) {
  if (o.accel != Accel::automatic) return o.accel;
  if (::access("/dev/kvm", R_OK | W_OK) != 0) return Accel::tcg;
  const std::string verdict_file = kKvmVerdictFile;
  std::ifstream in(verdict_file);
  std::string verdict;
  if (std::getline(in, verdict) && (verdict == "kvm" || verdict == "tcg"))
    return verdict == "kvm" ? Accel::kvm : Accel::tcg;
  auto check = probe::check_kvm_for_vm(qemu, kernel, std::chrono::seconds(5));
  log::info("vm: ", check.detail);
  // A cache of the probe: if it cannot be kept, the next boot probes again.
  if (auto st = write_file_atomic(verdict_file, check.available ? "kvm\n" : "tcg\n"); !st)
    log::warn("vm: ", st.error().describe());
  return check.available ? Accel::kvm : Accel::tcg;
}

std::string find_qemu() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin"}) {
    std::string p = std::string(dir) + "/qemu-system-x86_64";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

}  // namespace

// ------------------------------------------------------------------ free functions

std::string_view accel_name(Accel a) {
  switch (a) {
    case Accel::automatic: return "auto";
    case Accel::kvm: return "kvm";
    case Accel::tcg: return "tcg";
  }
  return "?";
}

std::string ExecResult::describe() const {
  std::string s = timed_out ? "timed out" : status.describe();
  auto line = first_line(err.empty() ? out : err);
  if (!line.empty()) s += ": " + line;
  return s;
}

std::string default_agent_path() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("IKESTORM_VM_AGENT"); env && *env) candidates.push_back(env);
  std::error_code ec;
  auto self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto dir = self.parent_path();
    candidates.push_back((dir / "ist-vm-agent").string());
    // An installed (or unpacked) package: <prefix>/bin/ikestorm with <prefix>/lib/ikestorm/.
    candidates.push_back((dir / "../lib/ikestorm/ist-vm-agent").lexically_normal().string());
    candidates.push_back((dir / "../vm/agent/ist-vm-agent").lexically_normal().string());
  }
#ifdef IST_VM_AGENT_BUILD_PATH
  candidates.push_back(IST_VM_AGENT_BUILD_PATH);
#endif
  candidates.push_back("/usr/lib/ikestorm/ist-vm-agent");
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return "";
}

std::string default_kernel() {
  std::string image;
  probe::find_vm_kernel(&image);
  return image;
}

Result<std::string> kernel_release_of(const std::string& kernel_image) {
  std::ifstream in(kernel_image, std::ios::binary);
  if (!in) return Error::sys("opening " + kernel_image);
  // Linux boot protocol: "HdrS" at 0x202; kernel_version (u16 at 0x20E) points at a
  // NUL-terminated string 0x200 bytes later: "6.1.0-56-amd64 (debian-kernel@...) #1 SMP ...".
  char header[0x210] = {};
  in.read(header, sizeof header);
  if (!in || std::string_view(header + 0x202, 4) != "HdrS")
    return Error(kernel_image + " is not a bzImage (no HdrS setup header)");
  unsigned offset = static_cast<unsigned char>(header[0x20E]) | (static_cast<unsigned char>(header[0x20F]) << 8);
  in.seekg(offset + 0x200);
  char text[256] = {};
  in.read(text, sizeof text - 1);
  std::string version(text, strnlen(text, sizeof text - 1));
  auto release = version.substr(0, version.find(' '));
  if (release.empty()) return Error(kernel_image + " names no kernel version");
  return release;
}

// ------------------------------------------------------------------ the channel

// The host end of the control port: qemu's unix socket, one request at a time.
class Guest::Channel {
 public:
  explicit Channel(unique_fd fd) : fd_(std::move(fd)) {}

  // Sends one request and waits for its reply (replies to other ids are stale and dropped).
  // `qemu_pidfd` makes a guest that dies mid-request an error at once.
  Result<proto::Message> call(std::uint8_t type, const std::vector<std::string>& fields, milliseconds timeout,
                              int qemu_pidfd) {
    const auto deadline = Clock::now() + timeout;
    const std::uint32_t id = next_id_++;
    const std::string frame = proto::encode({type, id, fields});
    std::size_t sent = 0;
    char buf[65536];
    for (;;) {
      auto left = left_until(deadline);
      if (left.count() == 0) return Error("no answer from the guest's agent within " + std::to_string(timeout.count()) + " ms");
      pollfd p[2] = {{fd_.get(), static_cast<short>(POLLIN | (sent < frame.size() ? POLLOUT : 0)), 0},
                     {qemu_pidfd, POLLIN, 0}};
      int r = ::poll(p, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Error::sys("waiting on the control socket");
      }
      if (p[1].revents & POLLIN) return Error("qemu exited");
      if (sent < frame.size() && (p[0].revents & POLLOUT)) {
        ssize_t n = ::send(fd_.get(), frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno != EAGAIN && errno != EINTR) return Error::sys("writing to the control socket");
        if (n > 0) sent += static_cast<std::size_t>(n);
      }
      if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return Error("qemu closed the control socket");
        if (n < 0 && errno != EAGAIN && errno != EINTR) return Error::sys("reading the control socket");
        if (n > 0) decoder_.feed(buf, static_cast<std::size_t>(n));
        while (auto m = decoder_.next()) {
          if (m->id != id) continue;
          if (m->type == proto::kFailed)
            return Error("guest agent: " + (m->fields.empty() ? std::string("failed") : m->fields[0]));
          if (m->type != proto::kOk) return Error("guest agent sent reply type " + std::to_string(m->type));
          return std::move(*m);
        }
      }
    }
  }

 private:
  unique_fd fd_;
  proto::Decoder decoder_;
  std::uint32_t next_id_ = 1;
};

// ------------------------------------------------------------------ Guest

Guest::Guest() = default;

Guest::~Guest() {
  if (auto st = shutdown(); !st) log::warn("vm: ", st.error().describe());
}

Result<std::unique_ptr<Guest>> Guest::boot(const GuestOptions& options, RunState& state) {
  const auto t0 = Clock::now();
  const auto& net = options.network;
  if (!net.netns || !net.netns->valid()) return Error("vm: a network namespace for the guest is required");
  if (net.tap.empty() || net.tap.size() > 15) return Error("vm: tap name '" + net.tap + "' must have 1-15 characters");
  if (options.run_dir.empty() || !fs::is_directory(options.run_dir))
    return Error("vm: run folder '" + options.run_dir + "' does not exist");
  if (options.run_dir.size() + 13 > kMaxUnixPath)
    return Error("vm: run folder " + options.run_dir + " is too long for the control socket path");

  std::unique_ptr<Guest> g(new Guest());
  g->state_ = &state;
  g->options_ = options;
  auto& o = g->options_;
  if (o.kernel.empty()) o.kernel = default_kernel();
  if (o.kernel.empty()) return Error("vm: no kernel: no /boot/vmlinuz-* with its /lib/modules (install linux-image-amd64)");
  auto release = kernel_release_of(o.kernel);
  if (!release) return std::move(release).error().wrap("vm: reading the kernel's release");
  if (o.modules_dir.empty()) o.modules_dir = "/lib/modules/" + *release;
  if (o.cache_dir.empty()) o.cache_dir = "/var/cache/ikestorm/vm";
  if (o.agent_path.empty()) o.agent_path = default_agent_path();
  if (o.agent_path.empty()) return Error("vm: the guest agent ist-vm-agent was not found (set IKESTORM_VM_AGENT)");
  if (o.qemu_path.empty()) o.qemu_path = find_qemu();
  if (o.qemu_path.empty()) return Error("vm: qemu-system-x86_64 not found (install qemu-system-x86)");
  if (o.network.mac.empty()) o.network.mac = mac_for(o.network.tap);

  InitramfsSpec spec{*release, o.modules_dir, o.busybox_path, o.agent_path, o.extra_modules, o.cache_dir};
  auto initramfs = build_initramfs(spec);
  if (!initramfs) return std::move(initramfs).error().wrap("vm: building the initramfs");
  // Boot the kernel unpacked where it can be (its own decompression dominates a TCG boot).
  auto unpacked = pvh_kernel(o.kernel, *release, o.cache_dir);
  if (unpacked) {
    g->boot_image_ = *unpacked;
  } else {
    log::info("vm: booting the compressed ", o.kernel, " (slower): ", unpacked.error().describe());
    g->boot_image_ = o.kernel;
  }
  g->timings_.initramfs_s = seconds_since(t0);
  g->timings_.initramfs_cached = initramfs->cached;
  g->accel_ = choose_accel(o, o.qemu_path, o.kernel);

  auto fail = [&](Error e) -> Error {
    e.message += "; console:" + tail_of(g->console_log_, 15);
    (void)g->shutdown(milliseconds(0));
    return std::move(e).wrap("vm: booting " + o.kernel + " (" + std::string(accel_name(g->accel_)) + ")");
  };
  const auto t_qemu = Clock::now();
  if (auto st = g->start_qemu(initramfs->path); !st) return fail(std::move(st).error());
  if (auto st = g->attach_tap(); !st) return fail(std::move(st).error());
  if (auto st = g->wait_for_agent(); !st) return fail(std::move(st).error());
  g->timings_.boot_s = seconds_since(t_qemu);
  const auto t_net = Clock::now();
  if (auto st = g->configure_network(); !st) return fail(std::move(st).error());
  g->timings_.network_s = seconds_since(t_net);
  g->timings_.total_s = seconds_since(t0);
  log::debug("vm: guest ", g->kernel_release_, " ready in ", g->timings_.total_s, " s (qemu pid ", g->qemu_.pid(), ")");
  return g;
}

Status Guest::start_qemu(const std::string& initramfs) {
  const auto& o = options_;
  console_log_ = o.run_dir + "/console.log";
  const std::string socket_path = o.run_dir + "/control.sock";
  ::unlink(socket_path.c_str());
  // Under TCG every syscall and exec counts: no speculation mitigations, no crypto self-tests
  // (each algorithm charon instantiates would run its test vectors first), no audit/LSM.
  std::string append =
      "console=ttyS0 panic=-1 loglevel=4 rdinit=/init tsc=reliable no_timer_check mitigations=off "
      "cryptomgr.notests=1 audit=0 apparmor=0 nowatchdog";
  if (o.module_autoload) append += " ist.autoload=1";
  for (const auto& a : o.extra_kernel_args) append += " " + a;
  const bool kvm = accel_ == Accel::kvm;

  SpawnOptions spawn;
  spawn.argv = {o.qemu_path,
                "-nodefaults", "-no-user-config", "-display", "none", "-monitor", "none", "-no-reboot",
                "-accel", kvm ? "kvm" : "tcg,thread=multi",
                "-cpu", kvm ? "host" : "max",
                "-m", std::to_string(o.memory_mb), "-smp", std::to_string(o.cpus),
                "-kernel", boot_image_, "-initrd", initramfs, "-append", append,
                "-serial", "file:" + console_log_,
                "-fsdev", "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap",
                "-device", "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot",
                "-netdev", "tap,id=net0,ifname=" + o.network.tap + ",script=no,downscript=no",
                "-device", "virtio-net-pci,netdev=net0,mac=" + o.network.mac,
                "-device", "virtio-serial-pci,id=vser0",
                "-chardev", "socket,id=ctl,path=" + socket_path + ",server=on,wait=off",
                "-device", "virtserialport,bus=vser0.0,chardev=ctl,name=" + std::string(proto::kPortName)};
  for (std::size_t i = 0; i < o.shares.size(); ++i) {
    const std::string id = "share" + std::to_string(i);
    std::string path;  // qemu's option syntax: a comma in a value is written twice
    for (char c : o.shares[i].host_path) path += c == ',' ? std::string(",,") : std::string(1, c);
    spawn.argv.insert(spawn.argv.end(),
                      {"-fsdev", "local,id=" + id + ",path=" + path + ",security_model=none",
                       "-device", "virtio-9p-pci,fsdev=" + id + ",mount_tag=" + o.shares[i].tag});
  }
  spawn.netns = o.network.netns->name();
  spawn.stdout_path = o.run_dir + "/qemu.log";
  auto child = ChildProcess::spawn(spawn);
  if (!child) return std::move(child).error().wrap("starting qemu");
  qemu_ = std::move(child).value();
  if (auto st = state_->record_process(qemu_.pid(), kQemuComm); !st)
    return std::move(st).error().wrap("journaling qemu's pid");

  // qemu creates the control socket early; connect as soon as it is there.
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    if (!qemu_.running())
      return Error("qemu " + qemu_.status()->describe() + " at start:" + tail_of(o.run_dir + "/qemu.log", 10));
    unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return Error::sys("creating a unix socket");
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", socket_path.c_str());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      channel_ = std::make_unique<Channel>(std::move(fd));
      return ok();
    }
    if (Clock::now() >= deadline) return Error::sys("connecting to qemu's control socket " + socket_path);
    pollfd p{qemu_.pidfd(), POLLIN, 0};
    ::poll(&p, 1, 20);
  }
}

Status Guest::attach_tap() {
  const auto& net = options_.network;
  return net.netns->run_in([&]() -> Status {
    IST_TRY_ASSIGN(auto sock, netns::NlSocket::open(0));
    // qemu opens the tap while it sets up its devices, before the guest runs.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    int tap = 0;
    for (;;) {
      auto idx = netns::link_index(sock, net.tap);
      if (idx) {
        tap = *idx;
        break;
      }
      if (!qemu_.running()) return Error("qemu " + qemu_.status()->describe() + " before its tap " + net.tap + " appeared");
      if (Clock::now() >= deadline) return Error("tap " + net.tap + " did not appear in " + net.netns->name());
      std::this_thread::sleep_for(milliseconds(10));
    }
    if (!net.bridge.empty()) {
      IST_TRY_ASSIGN(int bridge, netns::link_index(sock, net.bridge));
      IST_TRY(netns::set_link_master(sock, tap, bridge));
    }
    return netns::set_link_up(sock, tap);
  });
}

Status Guest::wait_for_agent() {
  // The agent answers once the guest is up; until then a hello goes unanswered (qemu keeps it
  // until the guest opens the port, or the agent's reply finds nobody): ask again, 4 per second.
  const auto deadline = Clock::now() + options_.boot_timeout;
  for (;;) {
    auto left = left_until(deadline);
    if (left.count() == 0)
      return Error("the guest's agent did not answer within " + std::to_string(options_.boot_timeout.count()) + " ms");
    auto reply = channel_->call(proto::kHello, {}, std::min(left, milliseconds(250)), qemu_.pidfd());
    if (reply) {
      if (reply->fields.empty()) return Error("the agent's hello carried no kernel release");
      kernel_release_ = reply->fields[0];
      return ok();
    }
    if (!qemu_.running()) return Error("qemu " + qemu_.status()->describe() + " during boot");
  }
}

Status Guest::configure_network() {
  const auto& net = options_.network;
  // Sysctls are plain file writes; addresses and routes go to one `ip -batch` (every exec of a
  // dynamically linked program costs a lot under TCG).
  for (const auto& s : net.sysctls) {
    auto eq = s.find('=');
    if (eq == std::string::npos) return Error("vm: sysctl '" + s + "' is not key=value");
    std::string path = "/proc/sys/" + s.substr(0, eq);
    std::replace(path.begin() + 10, path.end(), '.', '/');
    auto st = write_file(path, s.substr(eq + 1) + "\n");
    if (!st) return std::move(st).error().wrap("setting " + s + " in the guest");
  }
  std::string batch = "link set eth0 up\n";
  for (const auto& a : net.addresses)
    batch += "addr add " + a + " dev eth0" + (a.find(':') != std::string::npos ? " nodad" : "") + "\n";
  for (const auto& a : net.lo_addresses) batch += "addr add " + a + " dev lo\n";
  for (const auto& r : net.routes) batch += "route add " + r + "\n";
  IST_TRY(write_file("/run/ist/network.batch", batch));
  auto r = run({"/sbin/ip", "-batch", "/run/ist/network.batch"}, std::chrono::seconds(30));
  if (!r) return std::move(r).error().wrap("setting up the guest's network");
  return ok();
}

Result<std::vector<std::string>> Guest::request(int type, const std::vector<std::string>& fields,
                                                milliseconds timeout) {
  std::lock_guard lock(mutex_);
  if (shut_down_) return Error("vm: the guest was shut down");
  if (!dead_reason_.empty()) return Error("vm: the guest is unusable: " + dead_reason_);
  auto reply = channel_->call(static_cast<std::uint8_t>(type), fields, timeout, qemu_.pidfd());
  if (!reply) {
    // An agent that refused the request is fine; a channel that failed is the end of it.
    if (reply.error().message.rfind("guest agent:", 0) == 0) return std::move(reply).error();
    dead_reason_ = reply.error().describe();
    if (!qemu_.running()) dead_reason_ += " (qemu " + qemu_.status()->describe() + ")";
    return Error("vm: " + dead_reason_ + "; console:" + tail_of(console_log_, 10));
  }
  return std::move(reply->fields);
}

Result<ExecResult> Guest::exec(const std::vector<std::string>& argv, milliseconds timeout, std::size_t max_output) {
  if (argv.empty()) return Error("vm: exec of an empty command");
  std::vector<std::string> fields = {std::to_string(timeout.count()), std::to_string(max_output)};
  fields.insert(fields.end(), argv.begin(), argv.end());
  // The agent enforces `timeout`; the extra time covers the transfer and the kill.
  IST_TRY_ASSIGN(auto f, request(proto::kExec, fields, timeout + std::chrono::seconds(10)));
  if (f.size() != 5) return Error("vm: malformed exec reply");
  ExecResult r;
  r.timed_out = f[0] == proto::kTimedOut;
  if (!r.timed_out) {
    IST_TRY_ASSIGN(r.status, parse_status(f[0], f[1]));
  }
  r.truncated = f[2] == "1";
  r.out = std::move(f[3]);
  r.err = std::move(f[4]);
  return r;
}

Result<std::string> Guest::run(const std::vector<std::string>& argv, milliseconds timeout) {
  IST_TRY_ASSIGN(auto r, exec(argv, timeout));
  if (!r.ok()) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Error("vm: '" + cmd + "' in the guest " + r.describe());
  }
  return std::move(r.out);
}

Result<BackgroundId> Guest::spawn(const SpawnRequest& req) {
  if (req.argv.empty()) return Error("vm: spawn of an empty command");
  std::vector<std::string> fields = {req.log_path, req.cwd, std::to_string(req.env.size())};
  fields.insert(fields.end(), req.env.begin(), req.env.end());
  fields.insert(fields.end(), req.argv.begin(), req.argv.end());
  IST_TRY_ASSIGN(auto f, request(proto::kSpawn, fields, std::chrono::seconds(10)));
  std::uint64_t id = 0;
  if (f.size() != 2 || !proto::parse_u64(f[0], id)) return Error("vm: malformed spawn reply");
  return static_cast<BackgroundId>(id);
}

Status Guest::signal(BackgroundId id, int signo) {
  IST_TRY(request(proto::kSignal, {std::to_string(id), std::to_string(signo)}, std::chrono::seconds(10)));
  return ok();
}

Result<BackgroundState> Guest::poll(BackgroundId id) {
  IST_TRY_ASSIGN(auto f, request(proto::kPoll, {std::to_string(id)}, std::chrono::seconds(10)));
  std::int64_t pid = 0;
  if (f.size() != 4 || !proto::parse_i64(f[0], pid)) return Error("vm: malformed poll reply");
  BackgroundState s;
  s.guest_pid = static_cast<pid_t>(pid);
  s.running = f[1] == "1";
  if (!s.running) {
    IST_TRY_ASSIGN(s.status, parse_status(f[2], f[3]));
  }
  return s;
}

Result<std::string> Guest::read_file(const std::string& guest_path, std::size_t max_bytes) {
  IST_TRY_ASSIGN(auto f, request(proto::kReadFile, {guest_path, std::to_string(max_bytes)}, std::chrono::seconds(30)));
  if (f.size() != 1) return Error("vm: malformed read reply");
  return std::move(f[0]);
}

Status Guest::write_file(const std::string& guest_path, const std::string& content, unsigned mode) {
  char mode_text[16];
  std::snprintf(mode_text, sizeof mode_text, "%o", mode);
  IST_TRY(request(proto::kWriteFile, {guest_path, mode_text, content}, std::chrono::seconds(30)));
  return ok();
}

Status Guest::mount_share(const std::string& tag, const std::string& guest_path) {
  IST_TRY(run({"/bin/mkdir", "-p", guest_path}));
  IST_TRY(run({"/bin/mount", "-t", "9p", "-o", "trans=virtio,version=9p2000.L,msize=512000", tag, guest_path}));
  return ok();
}

Result<unique_fd> Guest::connect_tcp(const std::string& address, std::uint16_t port, milliseconds timeout) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return Error("vm: '" + address + "' is not an IP address");
  }
  IST_TRY_ASSIGN(auto fd, options_.network.netns->open_socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC));
  const std::string what = "connecting to " + address + ":" + std::to_string(port) + " in the guest";
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    if (errno != EINPROGRESS) return Error::sys(what);
    pollfd p{fd.get(), POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r == 0) return Error(what + ": timed out");
    int err = 0;
    socklen_t elen = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen);
    if (r < 0 || err != 0) return Error::sys(what, r < 0 ? errno : err);
  }
  int flags = ::fcntl(fd.get(), F_GETFL);
  ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

ProcessUsage Guest::usage() {
  if (qemu_.pid() > 0)
    if (auto u = process_usage(qemu_.pid())) last_usage_ = *u;
  return last_usage_;
}

bool Guest::alive(std::string* why) {
  if (shut_down_) {
    if (why) *why = "shut down";
    return false;
  }
  if (!qemu_.running()) {
    if (why) *why = "qemu " + qemu_.status()->describe();
    return false;
  }
  std::lock_guard lock(mutex_);
  if (!dead_reason_.empty()) {
    if (why) *why = dead_reason_;
    return false;
  }
  return true;
}

Status Guest::shutdown(milliseconds grace) {
  if (shut_down_) return ok();
  std::lock_guard lock(mutex_);
  shut_down_ = true;
  if (qemu_.pid() <= 0) return ok();
  const pid_t pid = qemu_.pid();
  usage();  // the last figures, while qemu is still there to read them from
  if (qemu_.running() && channel_ && dead_reason_.empty() && grace.count() > 0) {
    // The agent answers first, then stops its processes and powers off.
    auto reply = channel_->call(proto::kShutdown, {}, std::min(grace, milliseconds(5000)), qemu_.pidfd());
    if (reply) qemu_.wait_for(grace);
  }
  if (qemu_.running()) qemu_.stop(milliseconds(2000));
  channel_.reset();
  ::unlink((options_.run_dir + "/control.sock").c_str());
  return state_->forget({std::string(resource_kind::process), std::to_string(pid), ""});
}

}  // namespace ist::vm
