#include "common/probe.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include "common/child_process.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "common/signals.hpp"
#include "common/unique_fd.hpp"

namespace fs = std::filesystem;

namespace ist::probe {
namespace {

// ---------------------------------------------------------------- small helpers

std::string trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

// The first non-empty line of a command's output, for one-line details.
std::string first_line(const std::string& text) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    auto line = trim(text.substr(pos, end == std::string::npos ? std::string::npos : end - pos));
    if (!line.empty()) return line;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

bool is_executable_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

// A program on PATH or in the sbin folders (which root's PATH may lack under sudo/CI).
std::string find_program(const std::string& name) {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto end = path.find(':', pos);
    std::string dir = path.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (!dir.empty() && is_executable_file(dir + "/" + name)) return dir + "/" + name;
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return "";
}

std::string command_failure(const Result<CommandOutput>& r) {
  if (!r) return r.error().describe();
  if (r->timed_out) return "timed out";
  auto line = first_line(r->output);
  return line.empty() ? r->status.describe() : line;
}

bool command_ok(const Result<CommandOutput>& r) {
  return r && !r->timed_out && r->status.exited && r->status.code == 0;
}

// ---------------------------------------------------------------- scratch namespace

// Same set-up as `ip netns add`: /run/netns is a shared mount point, so namespaces bound
// there are seen from mount namespaces created later.
Status prepare_netns_dir() {
  if (::mkdir("/run/netns", 0755) != 0 && errno != EEXIST) return Error::sys("creating /run/netns");
  bool bound = false;
  while (::mount("", "/run/netns", "none", MS_SHARED | MS_REC, nullptr) != 0) {
    if (errno != EINVAL || bound) return Error::sys("making /run/netns a shared mount");
    if (::mount("/run/netns", "/run/netns", "none", MS_BIND | MS_REC, nullptr) != 0)
      return Error::sys("bind-mounting /run/netns");
    bound = true;
  }
  return ok();
}

// Creates a named network namespace (a bind mount of a new namespace on /run/netns/<name>).
// The new namespace is made on a short-lived thread so the harness's threads stay put.
Status create_named_netns(const std::string& name) {
  IST_TRY(prepare_netns_dir());
  const std::string path = named_netns_path(name);
  {
    unique_fd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
    if (!f) return Error::sys("creating " + path);
  }
  Status st;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      st = Error::sys("unshare(CLONE_NEWNET)");
    } else if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0) {
      st = Error::sys("bind-mounting the new namespace on " + path);
    }
  });
  t.join();
  if (!st) ::unlink(path.c_str());
  return st;
}

// Runs fn on a thread that has joined the named namespace. Sockets and devices opened there
// stay in that namespace after the thread ends.
Status run_in_netns(const std::string& name, const std::function<void()>& fn) {
  const std::string path = named_netns_path(name);
  unique_fd nsfd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!nsfd) return Error::sys("opening " + path);
  Status st;
  std::thread t([&] {
    if (::setns(nsfd.get(), CLONE_NEWNET) != 0) {
      st = Error::sys("joining namespace " + name);
      return;
    }
    fn();
  });
  t.join();
  return st;
}

Result<unique_fd> socket_in_netns(const std::string& ns, int domain, int type, int protocol) {
  unique_fd fd;
  int err = 0;
  IST_TRY(run_in_netns(ns, [&] {
    fd.reset(::socket(domain, type | SOCK_CLOEXEC, protocol));
    err = errno;
  }));
  if (!fd) return Error::sys("opening socket", err);
  return fd;
}

// ---------------------------------------------------------------- netlink

class NlMessage {
 public:
  NlMessage(uint16_t type, uint16_t flags) {
    buf_.resize(NLMSG_HDRLEN);
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = flags;
  }
  template <class T>
  void put(const T& body) { append(&body, sizeof body, false); }
  void put_attr(uint16_t type, const void* data, std::size_t len) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + len), type};
    append(&a, sizeof a, false);
    append(data, len, true);
  }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  std::vector<char>& bytes() {
    hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
  }

 private:
  void append(const void* p, std::size_t n, bool pad) {
    const char* c = static_cast<const char*>(p);
    buf_.insert(buf_.end(), c, c + n);
    if (pad) buf_.resize(NLMSG_ALIGN(buf_.size()), 0);
  }
  std::vector<char> buf_;
};

Result<unique_fd> open_netlink(const std::string& ns, int protocol) {
  IST_TRY_ASSIGN(unique_fd fd, socket_in_netns(ns, AF_NETLINK, SOCK_RAW, protocol));
  int one = 1;
  // Ask for the kernel's error text ("Requested type not found") and a short ack.
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof one);
  timeval tv{5, 0};  // a kernel that never answers must not hang the probe
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    return Error::sys("binding netlink socket");
  return fd;
}

// The text of an extended ack, if the kernel sent one.
std::string extack_message(const nlmsghdr* h) {
  if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
  auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
  std::size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);  // capped ack: no echoed payload
  if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += err->msg.nlmsg_len - NLMSG_HDRLEN;
  const char* base = reinterpret_cast<const char*>(h);
  while (off + NLA_HDRLEN <= h->nlmsg_len) {
    const auto* a = static_cast<const nlattr*>(static_cast<const void*>(base + off));
    if (a->nla_len < NLA_HDRLEN || off + a->nla_len > h->nlmsg_len) break;
    if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
      return std::string(base + off + NLA_HDRLEN, strnlen(base + off + NLA_HDRLEN, a->nla_len - NLA_HDRLEN));
    off += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// Sends one request and reads until its ack (or, for dumps, NLMSG_DONE). A refused
// request is an Error carrying the kernel's errno and extended-ack text.
Status netlink_transact(int fd, NlMessage& msg, uint32_t seq) {
  msg.hdr()->nlmsg_seq = seq;
  auto& out = msg.bytes();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return Error::sys("sending netlink request");
  const bool dump = msg.hdr()->nlmsg_flags & NLM_F_DUMP;
  std::vector<uint32_t> buf((1 << 16) / sizeof(uint32_t));  // netlink messages are 4-aligned
  const char* base = static_cast<const char*>(static_cast<const void*>(buf.data()));
  for (int reads = 0; reads < 10000; ++reads) {
    ssize_t n = ::recv(fd, buf.data(), buf.size() * sizeof(uint32_t), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("reading netlink answer");
    }
    const auto len = static_cast<std::size_t>(n);
    for (std::size_t off = 0; off + sizeof(nlmsghdr) <= len;) {
      const auto* h = static_cast<const nlmsghdr*>(static_cast<const void*>(base + off));
      if (h->nlmsg_len < sizeof(nlmsghdr) || off + h->nlmsg_len > len) break;
      off += NLMSG_ALIGN(h->nlmsg_len);
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_DONE) return ok();
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return ok();
        auto text = extack_message(h);
        return Error(text.empty() ? "kernel refused the request" : text, -e->error);
      }
      if (!dump) return Error("unexpected netlink answer type " + std::to_string(h->nlmsg_type));
    }
  }
  return Error("netlink answer did not end");
}

// ---------------------------------------------------------------- namespace checks

Check check_xfrm_netlink(int fd) {
  NlMessage dump(XFRM_MSG_GETSA, NLM_F_REQUEST | NLM_F_DUMP);
  dump.put(xfrm_usersa_id{});
  auto st = netlink_transact(fd, dump, 1);
  if (!st) return {false, "dumping SAs over NETLINK_XFRM: " + st.error().describe()};
  return {true, "NETLINK_XFRM SA dump answered"};
}

// Adds a throwaway ESP state (tunnel mode, AES-CBC + HMAC-SHA256, documentation-range
// addresses) and deletes it again. Kernels without ESP refuse the add.
Check check_esp(int fd) {
  in_addr src{}, dst{};
  ::inet_pton(AF_INET, "198.18.0.1", &src);
  ::inet_pton(AF_INET, "198.18.0.2", &dst);
  const uint32_t spi = htonl(0x00151001);

  xfrm_usersa_info sa{};
  sa.sel.family = AF_INET;
  sa.id.daddr.a4 = dst.s_addr;
  sa.id.spi = spi;
  sa.id.proto = IPPROTO_ESP;
  sa.saddr.a4 = src.s_addr;
  sa.family = AF_INET;
  sa.mode = XFRM_MODE_TUNNEL;
  sa.lft.soft_byte_limit = sa.lft.hard_byte_limit = XFRM_INF;
  sa.lft.soft_packet_limit = sa.lft.hard_packet_limit = XFRM_INF;

  NlMessage add(XFRM_MSG_NEWSA, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  add.put(sa);
  {
    std::vector<char> crypt(sizeof(xfrm_algo) + 16, 0x11);
    auto* a = reinterpret_cast<xfrm_algo*>(crypt.data());
    std::memset(a->alg_name, 0, sizeof a->alg_name);
    std::strcpy(a->alg_name, "cbc(aes)");
    a->alg_key_len = 128;
    add.put_attr(XFRMA_ALG_CRYPT, crypt.data(), crypt.size());
  }
  {
    std::vector<char> auth(sizeof(xfrm_algo_auth) + 32, 0x22);
    auto* a = reinterpret_cast<xfrm_algo_auth*>(auth.data());
    std::memset(a->alg_name, 0, sizeof a->alg_name);
    std::strcpy(a->alg_name, "hmac(sha256)");
    a->alg_key_len = 256;
    a->alg_trunc_len = 128;
    add.put_attr(XFRMA_ALG_AUTH_TRUNC, auth.data(), auth.size());
  }
  auto st = netlink_transact(fd, add, 2);
  if (!st) return {false, "adding an ESP state: " + st.error().describe()};

  xfrm_usersa_id id{};
  id.daddr.a4 = dst.s_addr;
  id.spi = spi;
  id.family = AF_INET;
  id.proto = IPPROTO_ESP;
  NlMessage del(XFRM_MSG_DELSA, NLM_F_REQUEST | NLM_F_ACK);
  del.put(id);
  auto dst_st = netlink_transact(fd, del, 3);
  if (!dst_st) return {true, "ESP state added; deleting it failed: " + dst_st.error().describe()};
  return {true, "ESP state (cbc(aes) + hmac(sha256)) added and deleted"};
}

Check check_tun(const std::string& ns, const std::string& ifname) {
  Check c;
  auto st = run_in_netns(ns, [&] {
    unique_fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) {
      c.detail = std::string("opening /dev/net/tun: ") + std::strerror(errno);
      return;
    }
    ifreq ifr{};
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) {
      c.detail = std::string("TUNSETIFF: ") + std::strerror(errno);
      return;
    }
    // Closing the fd removes the (non-persistent) device.
    c.available = true;
    c.detail = std::string("/dev/net/tun created ") + ifr.ifr_name;
  });
  if (!st) return {false, st.error().describe()};
  return c;
}

Check check_netem(const std::string& ns) {
  auto tc = find_program("tc");
  if (tc.empty()) return {false, "tc (iproute2) not found"};
  auto add = run_command({tc, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"},
                         std::chrono::seconds(10), ns);
  if (!command_ok(add)) return {false, "adding a netem qdisc: " + command_failure(add)};
  auto del = run_command({tc, "qdisc", "del", "dev", "lo", "root"}, std::chrono::seconds(10), ns);
  if (!command_ok(del)) return {true, "netem qdisc added; deleting it failed: " + command_failure(del)};
  return {true, "netem qdisc added and deleted on lo"};
}

Check check_nftables(const std::string& ns, const std::string& table) {
  auto nft = find_program("nft");
  if (nft.empty()) return {false, "nft not found"};
  auto add = run_command({nft, "add", "table", "inet", table}, std::chrono::seconds(10), ns);
  if (!command_ok(add)) return {false, "creating table inet " + table + ": " + command_failure(add)};
  auto del = run_command({nft, "delete", "table", "inet", table}, std::chrono::seconds(10), ns);
  if (!command_ok(del)) return {true, "table created; deleting it failed: " + command_failure(del)};
  return {true, "table inet " + table + " created and deleted"};
}

// A link of `kind` ("veth", "bridge") could be created in `ns` (it goes with the namespace).
Check check_link_kind(const std::string& ns, const std::string& kind, const std::string& name) {
  std::vector<std::string> argv = {ip_program(), "link", "add", name, "type", kind};
  if (kind == "veth") argv.insert(argv.end(), {"peer", "name", name + "p"});
  auto add = run_command(argv, std::chrono::seconds(10), ns);
  if (!command_ok(add)) return {false, "creating " + kind + " link " + name + ": " + command_failure(add)};
  return {true, kind + " link " + name + " created"};
}

Check check_tbf(const std::string& ns) {
  auto tc = find_program("tc");
  if (tc.empty()) return {false, "tc (iproute2) not found"};
  auto add = run_command({tc, "qdisc", "add", "dev", "lo", "root", "tbf", "rate", "1mbit", "burst", "32kbit",
                          "latency", "50ms"},
                         std::chrono::seconds(10), ns);
  if (!command_ok(add)) return {false, "adding a tbf qdisc: " + command_failure(add)};
  return {true, "tbf qdisc added on lo"};
}

// ---------------------------------------------------------------- host checks

// Runs a one-instruction (HLT) guest: proves /dev/kvm works here, not just that it exists.
Check check_kvm() {
  unique_fd kvm(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
  if (!kvm) return {false, std::string("opening /dev/kvm: ") + std::strerror(errno)};
  int api = ::ioctl(kvm.get(), KVM_GET_API_VERSION, 0);
  if (api != KVM_API_VERSION) return {false, "/dev/kvm API version " + std::to_string(api)};
  unique_fd vm(::ioctl(kvm.get(), KVM_CREATE_VM, 0));
  if (!vm) return {false, std::string("KVM_CREATE_VM: ") + std::strerror(errno)};

  const std::size_t page = 0x1000;
  void* mem = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return {false, std::string("mmap: ") + std::strerror(errno)};
  struct Unmap {
    void* p;
    std::size_t n;
    ~Unmap() { ::munmap(p, n); }
  } unmap{mem, page};
  std::memset(mem, 0xF4, page);  // HLT everywhere
  kvm_userspace_memory_region region{};
  region.guest_phys_addr = page;
  region.memory_size = page;
  region.userspace_addr = reinterpret_cast<uint64_t>(mem);
  if (::ioctl(vm.get(), KVM_SET_USER_MEMORY_REGION, &region) != 0)
    return {false, std::string("KVM_SET_USER_MEMORY_REGION: ") + std::strerror(errno)};
  unique_fd vcpu(::ioctl(vm.get(), KVM_CREATE_VCPU, 0));
  if (!vcpu) return {false, std::string("KVM_CREATE_VCPU: ") + std::strerror(errno)};
  int run_size = ::ioctl(kvm.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
  if (run_size <= 0) return {false, "KVM_GET_VCPU_MMAP_SIZE failed"};
  void* run_mem = ::mmap(nullptr, static_cast<std::size_t>(run_size), PROT_READ | PROT_WRITE,
                         MAP_SHARED, vcpu.get(), 0);
  if (run_mem == MAP_FAILED) return {false, std::string("mapping kvm_run: ") + std::strerror(errno)};
  Unmap unmap_run{run_mem, static_cast<std::size_t>(run_size)};
  kvm_sregs sregs{};
  if (::ioctl(vcpu.get(), KVM_GET_SREGS, &sregs) != 0)
    return {false, std::string("KVM_GET_SREGS: ") + std::strerror(errno)};
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  if (::ioctl(vcpu.get(), KVM_SET_SREGS, &sregs) != 0)
    return {false, std::string("KVM_SET_SREGS: ") + std::strerror(errno)};
  kvm_regs regs{};
  regs.rip = page;
  regs.rflags = 0x2;
  if (::ioctl(vcpu.get(), KVM_SET_REGS, &regs) != 0)
    return {false, std::string("KVM_SET_REGS: ") + std::strerror(errno)};
  if (::ioctl(vcpu.get(), KVM_RUN, 0) != 0)
    return {false, std::string("KVM_RUN: ") + std::strerror(errno)};
  auto* run = static_cast<kvm_run*>(run_mem);
  if (run->exit_reason != KVM_EXIT_HLT)
    return {false, "test guest stopped with exit reason " + std::to_string(run->exit_reason)};
  return {true, "/dev/kvm ran a test guest"};
}

// A one-instruction guest is not enough: nested virtualization can run it and still hang a
// real kernel. So boot the distro kernel under qemu -accel kvm (no disk, no network) until
// it prints its banner; it then panics for lack of a root fs and qemu exits (-no-reboot).
Check check_kvm_boots_kernel(const std::string& qemu, const std::string& kernel, std::chrono::seconds within) {
  auto out = run_command({qemu, "-accel", "kvm", "-m", "256", "-nodefaults",
                          "-display", "none", "-monitor", "none", "-serial", "stdio", "-net", "none",
                          "-no-reboot", "-kernel", kernel, "-append",
                          "console=ttyS0 earlyprintk=ttyS0 panic=-1 loglevel=4"},
                         within);
  if (!out) return {false, "starting qemu: " + out.error().describe()};
  if (out->output.find("Linux version") != std::string::npos)
    return {true, "/dev/kvm ran a test guest; qemu -accel kvm booted " + kernel};
  std::string why = out->timed_out ? "no kernel banner within " + std::to_string(within.count()) + " s"
                                   : first_line(out->output);
  return {false, "/dev/kvm runs a test guest but qemu -accel kvm does not boot " + kernel +
                     " (" + why + "); the vm backend needs TCG here"};
}

// The newest /boot/vmlinuz-<version> whose modules (/lib/modules/<version>) are installed.
Check find_vm_kernel_impl(std::string* image_out) {
  std::vector<std::string> versions;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/boot", ec)) {
    auto name = e.path().filename().string();
    if (name.rfind("vmlinuz-", 0) == 0) versions.push_back(name.substr(8));
  }
  std::sort(versions.begin(), versions.end(),
            [](const std::string& a, const std::string& b) { return ::strverscmp(a.c_str(), b.c_str()) > 0; });
  for (const auto& v : versions) {
    std::string image = "/boot/vmlinuz-" + v;
    if (::access(image.c_str(), R_OK) != 0) continue;
    if (!fs::is_directory("/lib/modules/" + v, ec)) continue;
    if (image_out) *image_out = image;
    return {true, image + " (modules in /lib/modules/" + v + ")"};
  }
  return {false, versions.empty() ? "no /boot/vmlinuz-* (install linux-image-amd64)"
                                            : "no readable /boot/vmlinuz-* with /lib/modules"};
}

void check_charon(HostCapabilities& caps, const ProbeOptions& options) {
  std::vector<std::string> candidates;
  if (!options.charon_path.empty()) {
    candidates.push_back(options.charon_path);
  } else {
    candidates = {"/usr/lib/ipsec/charon", "/usr/libexec/ipsec/charon",
                  "/usr/lib/strongswan/charon", "/usr/libexec/strongswan/charon"};
  }
  for (const auto& c : candidates) {
    if (is_executable_file(c)) {
      caps.charon_path = c;
      break;
    }
  }
  caps.plugin_dir = options.plugin_dir;
  if (caps.plugin_dir.empty()) {
    caps.plugin_dir = caps.charon_path.empty()
                          ? "/usr/lib/ipsec/plugins"
                          : fs::path(caps.charon_path).parent_path().string() + "/plugins";
  }
  for (const auto& name : required_plugins()) {
    std::string so = caps.plugin_dir + "/libstrongswan-" + name + ".so";
    caps.plugins.push_back({name, ::access(so.c_str(), R_OK) == 0});
  }
  if (caps.charon_path.empty()) {
    caps.charon = {false, "charon not found (install strongswan-charon)"};
    return;
  }
  // charon --version prints e.g. "Linux strongSwan 5.9.8" and exits.
  auto out = run_command({caps.charon_path, "--version"}, std::chrono::seconds(10));
  if (!command_ok(out)) {
    caps.charon = {false, caps.charon_path + " --version: " + command_failure(out)};
    return;
  }
  auto line = first_line(out->output);
  auto at = line.find("strongSwan ");
  if (at == std::string::npos) {
    caps.charon = {false, caps.charon_path + " --version printed '" + line + "'"};
    return;
  }
  caps.charon_version = trim(line.substr(at + 11));
  caps.charon = {true, caps.charon_path + " (strongSwan " + caps.charon_version + ")"};
}

void mark_all(HostCapabilities& caps, const std::string& why) {
  for (Check* c : {&caps.xfrm_netlink, &caps.esp, &caps.netem, &caps.tun, &caps.nftables, &caps.veth, &caps.bridge,
                   &caps.tbf})
    *c = {false, why};
}

// The checks that need a namespace of our own.
void check_in_scratch_netns(HostCapabilities& caps, const ProbeOptions& options) {
  caps.run_id.clear();
  std::optional<RunState> state;
  for (int attempt = 0; attempt < 8 && !state; ++attempt) {
    auto s = RunState::create(new_run_id());
    if (s) state.emplace(std::move(s).value());
    else if (s.error().errno_value != EEXIST) {
      caps.problems.push_back(s.error().describe());
      mark_all(caps, "no scratch namespace: " + s.error().describe());
      return;
    }
  }
  if (!state) {
    mark_all(caps, "no scratch namespace: no free run id");
    return;
  }
  caps.run_id = state->run_id();
  caps.scratch_netns = netns_name(caps.run_id, "probe");
  const Resource ns_res{std::string(resource_kind::netns), caps.scratch_netns, ""};

  auto finish_state = [&] {
    if (auto r = state->remove(); !r) caps.problems.push_back(r.error().describe());
  };
  if (auto r = state->record(ns_res); !r) {
    caps.problems.push_back(r.error().describe());
    mark_all(caps, "no scratch namespace: " + r.error().describe());
    finish_state();
    return;
  }
  if (auto r = create_named_netns(caps.scratch_netns); !r) {
    mark_all(caps, "creating scratch namespace " + caps.scratch_netns + ": " + r.error().describe());
    (void)state->forget(ns_res);
    finish_state();
    return;
  }
  if (options.on_scratch_ready) options.on_scratch_ready(caps.run_id, caps.scratch_netns);

  // SIGINT/SIGTERM: skip what is left, but still remove the namespace below.
  if (signals::stop_requested()) {
    mark_all(caps, "not tried: stop requested");
  } else {
    auto nl = open_netlink(caps.scratch_netns, NETLINK_XFRM);
    if (!nl) {
      caps.xfrm_netlink = {false, "opening NETLINK_XFRM socket: " + nl.error().describe()};
      caps.esp = {false, "no XFRM netlink"};
    } else {
      caps.xfrm_netlink = check_xfrm_netlink(nl->get());
      caps.esp = caps.xfrm_netlink.available ? check_esp(nl->get()) : Check{false, "no XFRM netlink"};
    }
    caps.tun = check_tun(caps.scratch_netns, link_name(caps.run_id, "tun"));
    caps.netem = check_netem(caps.scratch_netns);
    caps.nftables = check_nftables(caps.scratch_netns, nft_table_name(caps.run_id));
    caps.veth = check_link_kind(caps.scratch_netns, "veth", link_name(caps.run_id, "v"));
    caps.bridge = check_link_kind(caps.scratch_netns, "bridge", link_name(caps.run_id, "b"));
    caps.tbf = check_tbf(caps.scratch_netns);
  }

  if (auto r = remove_named_netns(caps.scratch_netns); !r) {
    caps.problems.push_back("removing " + caps.scratch_netns + ": " + r.error().describe() +
                            " (run 'ikestorm clean')");
    return;  // keep the state folder so clean finds the namespace
  }
  (void)state->forget(ns_res);
  finish_state();
}

}  // namespace

bool HostCapabilities::plugin_present(std::string_view name) const {
  return std::any_of(plugins.begin(), plugins.end(),
                     [&](const Plugin& p) { return p.name == name && p.present; });
}

const std::vector<std::string>& required_plugins() {
  static const std::vector<std::string> names = {
      "random", "nonce", "openssl", "kdf", "pem", "pkcs1", "x509", "pubkey",
      "kernel-libipsec", "kernel-netlink", "socket-default", "vici"};
  return names;
}

HostCapabilities probe_host(const ProbeOptions& options) {
  HostCapabilities caps;
  utsname u{};
  if (::uname(&u) == 0) caps.kernel = u.release;

  if (::geteuid() != 0) {
    mark_all(caps, "needs root (network namespace of its own)");
  } else {
    check_in_scratch_netns(caps, options);
  }

  caps.qemu_path = find_program("qemu-system-x86_64");
  caps.qemu = caps.qemu_path.empty() ? Check{false, "qemu-system-x86_64 not found (install qemu-system-x86)"}
                                     : Check{true, caps.qemu_path};
  caps.vm_kernel = find_vm_kernel(&caps.vm_kernel_path);
  caps.kvm = check_kvm();
  if (caps.kvm.available && caps.qemu.available && caps.vm_kernel.available) {
    if (signals::stop_requested())
      caps.kvm.detail += " (qemu boot not tried: stop requested)";
    else if (options.boot_kernel_under_kvm)
      caps.kvm = check_kvm_boots_kernel(caps.qemu_path, caps.vm_kernel_path, std::chrono::seconds(5));
    else
      caps.kvm.detail += " (qemu boot not tried)";
  }
  check_charon(caps, options);
  return caps;
}

Check find_vm_kernel(std::string* image) { return find_vm_kernel_impl(image); }

Check check_kvm_for_vm(const std::string& qemu, const std::string& kernel, std::chrono::seconds within) {
  Check kvm = check_kvm();
  if (!kvm.available) return kvm;
  return check_kvm_boots_kernel(qemu, kernel, within);
}

Check vm_backend_usable(const HostCapabilities& caps, std::string* accel) {
  if (!caps.qemu.available) return {false, caps.qemu.detail};
  if (!caps.vm_kernel.available) return {false, caps.vm_kernel.detail};
  if (!is_executable_file("/bin/busybox"))
    return {false, "no /bin/busybox for the guest's initramfs (install busybox-static)"};
  // TCG needs nothing from the host; KVM only where a kernel really booted under it.
  if (accel) *accel = caps.kvm.available ? "kvm" : "tcg";
  return {true, std::string(caps.kvm.available ? "KVM" : "TCG (no usable KVM)") + ", kernel " +
                    caps.vm_kernel_path + ", busybox; --backend vm runs the SUT in a guest"};
}

std::string auto_backend(const HostCapabilities& caps, std::string* reason) {
  auto say = [&](std::string text) {
    if (reason) *reason = std::move(text);
  };
  if (!caps.charon.available) {
    say("no usable backend: " + caps.charon.detail);
    return "";
  }
  if (caps.xfrm_netlink.available && caps.esp.available && caps.plugin_present("kernel-netlink")) {
    say("kernel holds ESP states; using kernel XFRM");
    return "xfrm";
  }
  if (caps.tun.available && caps.plugin_present("kernel-libipsec")) {
    say(std::string(kLibipsecReason));
    return "libipsec";
  }
  std::string missing;
  if (!caps.tun.available) missing = "TUN (" + caps.tun.detail + ")";
  if (!caps.plugin_present("kernel-libipsec"))
    missing += std::string(missing.empty() ? "" : ", ") + "the kernel-libipsec plugin (libcharon-extra-plugins)";
  say("no usable backend: kernel ESP unavailable (" + caps.esp.detail + ") and no " + missing);
  return "";
}

}  // namespace ist::probe
