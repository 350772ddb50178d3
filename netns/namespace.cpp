#include "netns/namespace.hpp"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>
#include <utility>

#include "common/log.hpp"
#include "common/named_netns.hpp"
#include "netns/privileges.hpp"
#include "netns/rtnl.hpp"

namespace ist::netns {

namespace {

constexpr const char* kNetnsDir = "/run/netns";

// Like `ip netns add`: /run/netns must be a shared mount point so the bind mounts below
// propagate into mount namespaces created later (a charon's private /run, for instance).
Status prepare_netns_dir() {
  if (::mkdir(kNetnsDir, 0755) != 0 && errno != EEXIST) return Error::sys("creating /run/netns");
  if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return ok();
  if (errno != EINVAL) return Error::sys("making /run/netns a shared mount");
  // Not a mount point yet: bind it onto itself, then share it.
  if (::mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) != 0)
    return Error::sys("bind-mounting /run/netns onto itself");
  if (::mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) != 0)
    return Error::sys("making /run/netns a shared mount");
  return ok();
}

// On a fresh thread (network namespaces are per thread): unshare, then pin the new namespace
// by bind-mounting the thread's namespace file onto `path`.
Status unshare_and_pin(const std::string& path) {
  Status result;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      result = Error::sys("unshare(CLONE_NEWNET)");
      return;
    }
    if (::mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) != 0)
      result = Error::sys("bind-mounting the new namespace on " + path);
  });
  t.join();
  return result;
}

}  // namespace

bool is_valid_role(std::string_view role) {
  return !role.empty() && role.size() <= 16 && std::all_of(role.begin(), role.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
         });
}

Result<Namespace> Namespace::create(RunState& state, std::string role) {
  IST_TRY(check_privileges());
  if (!is_valid_role(role))
    return Error("bad namespace role '" + role + "' (1-16 characters of a-z, 0-9)");
  Namespace ns;  // owns nothing (state_ unset) until the journal names it
  ns.role_ = std::move(role);
  ns.name_ = netns_name(state.run_id(), ns.role_);
  const std::string path = ns.path();
  if (named_netns_exists(ns.name_))
    return Error("network namespace " + ns.name_ + " already exists (" + path + ")");

  IST_TRY(prepare_netns_dir());
  // Write-ahead: the journal names the namespace before anything of it exists.
  const Resource journal{std::string(resource_kind::netns), ns.name_, ""};
  if (auto st = state.record(journal); !st) return std::move(st).error().wrap("journaling " + ns.name_);
  ns.state_ = &state;

  auto undo = [&](Error e) -> Error {
    (void)remove_named_netns(ns.name_);
    (void)state.forget(journal);
    ns.state_ = nullptr;  // nothing left for the destructor
    return e;
  };
  // O_EXCL: two runs (or a stale leftover) never share a name.
  unique_fd placeholder(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (!placeholder) {
    int err = errno;
    (void)state.forget(journal);
    ns.state_ = nullptr;
    if (err == EEXIST) return Error("network namespace " + ns.name_ + " already exists (" + path + ")");
    return Error::sys("creating " + path, err);
  }
  placeholder.reset();
  if (auto st = unshare_and_pin(path); !st) return undo(std::move(st).error().wrap("creating " + ns.name_));
  ns.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns.fd_) return undo(Error::sys("opening " + path));
  return ns;
}

Namespace::~Namespace() {
  if (auto st = destroy(); !st) log::warn("netns: ", st.error().describe());
}

Namespace::Namespace(Namespace&& o) noexcept
    : state_(std::exchange(o.state_, nullptr)),
      name_(std::move(o.name_)),
      role_(std::move(o.role_)),
      fd_(std::move(o.fd_)) {}

Namespace& Namespace::operator=(Namespace&& o) noexcept {
  if (this != &o) {
    if (auto st = destroy(); !st) log::warn("netns: ", st.error().describe());
    state_ = std::exchange(o.state_, nullptr);
    name_ = std::move(o.name_);
    role_ = std::move(o.role_);
    fd_ = std::move(o.fd_);
  }
  return *this;
}

std::string Namespace::path() const { return named_netns_path(name_); }

Status Namespace::destroy() {
  if (!state_) return ok();
  fd_.reset();
  if (auto st = remove_named_netns(name_); !st) return std::move(st).error().wrap("removing " + name_);
  auto st = state_->forget({std::string(resource_kind::netns), name_, ""});
  state_ = nullptr;
  return st;
}

Status Namespace::run_in(const std::function<Status()>& fn) const {
  if (!fd_) return Error("namespace " + name_ + " is not open");
  Status result;
  // A thread of our own rather than the caller's: the namespace switch dies with it.
  std::thread t([&] {
    if (::setns(fd_.get(), CLONE_NEWNET) != 0) {
      result = Error::sys("entering namespace " + name_);
      return;
    }
    result = fn();
  });
  t.join();
  return result;
}

Status Namespace::add_link_addresses(const std::string& link, const std::vector<IpPrefix>& addrs) const {
  IST_TRY_ASSIGN(auto sock, open_netlink());
  IST_TRY_ASSIGN(int index, link_index(sock, link));
  return add_addresses(sock, index, addrs);
}

Result<NlSocket> Namespace::open_netlink(int protocol) const {
  NlSocket sock;
  IST_TRY(run_in([&]() -> Status {
    IST_TRY_ASSIGN(sock, NlSocket::open(protocol == 0 ? NETLINK_ROUTE : protocol));
    return ok();
  }));
  return sock;
}

Result<unique_fd> Namespace::open_socket(int domain, int type, int protocol) const {
  unique_fd fd;
  IST_TRY(run_in([&]() -> Status {
    fd.reset(::socket(domain, type | SOCK_CLOEXEC, protocol));
    if (!fd) return Error::sys("socket() in namespace " + name_);
    return ok();
  }));
  return fd;
}

}  // namespace ist::netns
