#include "run/vm_sut.hpp"

#include <chrono>
#include <csignal>
#include <filesystem>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <sstream>
#include <thread>

#include "common/file_write.hpp"
#include "common/log.hpp"
#include "netns/address_plan.hpp"
#include "netns/rtnl.hpp"
#include "netns/sysctl.hpp"
#include "run/charon_sut.hpp"
#include "vm/guest.hpp"

namespace ist::run {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kLoopbackIndex = 1;

Result<std::string> render_conf_tree(const charon::ConfTree& tree, charon::Backend backend) {
  std::string out = "# strongswan.conf for an ikestorm SUT charon in a guest (kernel-netlink, backend " +
                    std::string(charon::to_string(backend)) + "). Generated; edits are overwritten.\n";
  out += "charon {\n";
  std::istringstream body(tree.render());
  for (std::string line; std::getline(body, line);) out += "  " + line + "\n";
  out += "}\n";
  return out;
}

// The families whose SUT end the guest takes over: IPv4 always (an IPv6 run's link carries
// both, as the topology builds it), IPv6 too when the run's plan has it.
std::vector<netns::Family> sut_families(const netns::Topology& topo) {
  std::vector<netns::Family> families{netns::Family::v4};
  if (topo.has_family(netns::Family::v6)) families.push_back(netns::Family::v6);
  return families;
}

// The topology's SUT end is routed (veth with 198.18.0.1 / 2001:2::1, lo with 198.18.255.1 /
// 2001:2:0:ff::1): hand these addresses to the guest and make the veth a port of a bridge
// the guest's tap joins.
Status bridge_sut_link(const netns::Topology& topo, const std::string& bridge) {
  using netns::AddressPlan;
  IST_TRY_ASSIGN(netns::NlSocket sock, topo.sut_ns().open_netlink());
  IST_TRY_ASSIGN(int veth, netns::link_index(sock, topo.sut_link()));
  for (netns::Family f : sut_families(topo)) {
    // Removing an IPv4 link address also drops the routes through it (198.19.0.0/16 via .2).
    IST_TRY(netns::remove_addresses(sock, veth, {AddressPlan::sut_link(f)}));
    netns::IpPrefix subnet_addr{AddressPlan::sut_subnet_address(f), AddressPlan::sut_subnet(f).length};
    IST_TRY(netns::remove_addresses(sock, kLoopbackIndex, {subnet_addr}));
  }
  if (topo.has_family(netns::Family::v6)) {
    // An IPv6 route through a removed address stays (2001:2:0:2::/63 via 2001:2::2): a bridge
    // port needs no IPv6 of its own, and turning it off drops its routes and link-local too.
    const std::string key = "net.ipv6.conf." + topo.sut_link() + ".disable_ipv6";
    auto turn_off = [&]() -> Status {
      IST_TRY(netns::write_sysctl({key, "1"}));
      return ok();
    };
    IST_TRY(topo.sut_ns().run_in(turn_off));
  }
  IST_TRY(netns::create_simple_link(sock, bridge, "bridge"));
  IST_TRY_ASSIGN(int br, netns::link_index(sock, bridge));
  IST_TRY(netns::set_link_master(sock, veth, br));
  IST_TRY(netns::set_link_up(sock, br));
  IST_TRY_ASSIGN(auto mgmt, netns::IpPrefix::parse(std::string(kBridgeManagementAddress) + "/" +
                                                   std::to_string(kManagementPrefix)));
  IST_TRY(netns::add_addresses(sock, br, {mgmt}));
  return ok();
}

// The guest's side of the SUT end: the IKE address(es) on eth0 next to the management
// address, the protected subnet's address on lo, the route to the peers (per family), socket
// buffers sized for bursts of IKE_SA_INIT (as the topology sizes the namespaces').
vm::GuestNetwork guest_network(const netns::Topology& topo, const std::string& tap, const std::string& bridge) {
  using netns::AddressPlan;
  vm::GuestNetwork n;
  n.netns = &topo.sut_ns();
  n.tap = tap;
  n.bridge = bridge;
  n.addresses = {std::string(kGuestViciAddress) + "/" + std::to_string(kManagementPrefix)};
  for (netns::Family f : sut_families(topo)) {
    // IPv6 ones get nodad (vm::Guest): usable at once, no 1-2 s of tentative state.
    n.addresses.push_back(AddressPlan::sut_link(f).str());
    // A host address: the traffic selector is the whole subnet anyway (kernel-netlink, unlike
    // libipsec, needs no local address in it) and lo then claims nothing else of the subnet.
    n.lo_addresses.push_back(AddressPlan::sut_subnet_address(f).str() + "/" +
                             std::to_string(AddressPlan::host_prefix_length(f)));
    n.routes.push_back(AddressPlan::peers_side_route(f).str() + " via " + AddressPlan::peers_link(f).address.str());
  }
  const auto& spec = topo.spec();
  n.sysctls = {"net.core.rmem_max=" + std::to_string(spec.socket_buffer_bytes),
               "net.core.wmem_max=" + std::to_string(spec.socket_buffer_bytes),
               "net.core.rmem_default=" + std::to_string(spec.socket_buffer_default),
               "net.core.wmem_default=" + std::to_string(spec.socket_buffer_default)};
  return n;
}


}  // namespace

std::string esp_warmup_script(const std::vector<std::string>& esp_proposals) {
  bool gcm = false, chacha = false, cbc = false, sha1 = false, sha2 = false;
  for (const auto& p : esp_proposals) {
    if (p.find("gcm") != std::string::npos) gcm = true;
    if (p.find("chacha20poly1305") != std::string::npos) chacha = true;
    if (p.find("aes") != std::string::npos && p.find("gcm") == std::string::npos) cbc = true;
    if (p.find("sha1") != std::string::npos) sha1 = true;
    if (p.find("sha256") != std::string::npos || p.find("sha384") != std::string::npos ||
        p.find("sha512") != std::string::npos)
      sha2 = true;
  }
  if (!gcm && !chacha && !cbc) gcm = cbc = sha2 = true;
  if (cbc && !sha1 && !sha2) sha2 = true;
  const std::string key16 = "0x000102030405060708090a0b0c0d0e0f";
  const std::string key32 = key16 + "101112131415161718191a1b1c1d1e1f";
  std::vector<std::string> algs;
  if (gcm) algs.push_back("aead 'rfc4106(gcm(aes))' " + key16 + "01020304 128");
  if (chacha) algs.push_back("aead 'rfc7539esp(chacha20,poly1305)' " + key32 + "01020304 128");
  if (cbc && sha2) algs.push_back("enc 'cbc(aes)' " + key16 + " auth-trunc 'hmac(sha256)' " + key32 + " 128");
  if (cbc && sha1) algs.push_back("enc 'cbc(aes)' " + key16 + " auth-trunc 'hmac(sha1)' " + key16 + "01020304 96");
  std::ostringstream s;
  const std::string where = std::string("src ") + kGuestViciAddress + " dst " + kBridgeManagementAddress +
                            " proto esp spi ";
  for (std::size_t i = 0; i < algs.size(); ++i) {
    std::string spi = std::to_string(0x100 + i);
    s << "ip xfrm state add " << where << spi << " mode tunnel " << algs[i] << " && ip xfrm state delete " << where
      << spi << "\n";
  }
  return s.str();
}

Result<std::string> render_guest_strongswan_conf(charon::CharonSettings settings, const std::string& guest_log,
                                                 const std::string& vici_address, uint16_t vici_port) {
  settings.role = charon::Role::sut;
  settings.backend = charon::Backend::xfrm;  // kernel-netlink only: the guest kernel has ESP
  settings.filelog.path = guest_log;
  // charon_settings_tree insists on a unix socket path; the guest listens on TCP instead.
  settings.vici_socket = "/run/charon.vici";
  IST_TRY_ASSIGN(charon::ConfTree tree, charon::charon_settings_tree(settings));
  IST_TRY(tree.set("plugins.vici.socket", "tcp://" + vici_address + ":" + std::to_string(vici_port)));
  return render_conf_tree(tree, settings.backend);
}

Result<std::unique_ptr<VmSut>> VmSut::start(EventLoop& loop, const VmSutOptions& o,
                                            const std::vector<charon::ViciRequest>& setup) {
  if (!o.topology || !o.run_state) return Error("vm SUT: no topology or run state");
  std::unique_ptr<VmSut> sut(new VmSut());
  sut->topology_ = o.topology;
  sut->work_dir_ = o.work_dir;
  sut->log_path_ = o.work_dir + "/charon.log";
  std::error_code ec;
  std::filesystem::create_directories(o.work_dir, ec);
  if (ec) return Error("creating " + o.work_dir + ": " + ec.message(), ec.value());

  IST_TRY_ASSIGN(std::string conf, render_guest_strongswan_conf(o.settings, kGuestCharonLog, kGuestViciAddress,
                                                                kGuestViciPort));
  // The copy people read; the guest gets its own through the control channel.
  IST_TRY(write_file_atomic(o.work_dir + "/strongswan.conf", conf));

  const std::string& run_id = o.run_state->run_id();
  const std::string bridge = link_name(run_id, "vbr");
  if (auto st = bridge_sut_link(*o.topology, bridge); !st)
    return std::move(st).error().wrap("vm SUT: bridging the SUT namespace's link");

  vm::GuestOptions go;
  go.kernel = o.kernel;
  go.run_dir = o.work_dir;
  go.network = guest_network(*o.topology, link_name(run_id, "vm"), bridge);
  auto guest = vm::Guest::boot(go, *o.run_state);
  if (!guest) return std::move(guest).error().wrap("vm SUT: booting the guest");
  sut->guest_ = std::move(*guest);
  sut->boot_s_ = sut->guest_->timings().total_s;
  sut->guest_kernel_ = sut->guest_->kernel_release();
  {
    auto w0 = Clock::now();
    auto warm = sut->guest_->run({"/bin/sh", "-ec", esp_warmup_script(o.esp_proposals)}, 120s);
    if (!warm) return std::move(warm).error().wrap("vm SUT: the guest kernel refused an ESP state");
    sut->warmup_s_ = std::chrono::duration<double>(Clock::now() - w0).count();
  }

  IST_TRY(sut->start_charon(conf));
  IST_TRY(sut->connect_vici(loop));
  if (auto st = send_setup(*sut->session_, setup); !st) {
    (void)sut->copy_log_back();
    return std::move(st).error();
  }
  log::info("vm SUT ready: guest kernel ", sut->guest_kernel_, " (", vm::accel_name(sut->guest_->accel()),
            "), booted in ", sut->boot_s_, " s, ESP algorithms loaded in ", sut->warmup_s_, " s");
  return sut;
}

Status VmSut::start_charon(const std::string& conf) {
  IST_TRY(guest_->write_file(kGuestConf, conf));
  vm::SpawnRequest req;
  req.argv = {"/usr/lib/ipsec/charon"};
  req.env = {std::string("STRONGSWAN_CONF=") + kGuestConf};
  req.log_path = kGuestCharonOutput;
  auto id = guest_->spawn(req);
  if (!id) return std::move(id).error().wrap("vm SUT: starting charon in the guest");
  charon_id_ = *id;
  charon_started_ = true;
  return ok();
}

namespace {

constexpr const char* kGuestXfrmWatchErr = "/run/ikestorm/xfrm-watch.err";
constexpr const char* kGuestSinkErr = "/run/ikestorm/udp-echo.err";

// This very binary's path: the guest sees it over 9p and runs its helper commands from it.
Result<std::string> own_binary() {
  std::error_code ec;
  std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return Error("vm SUT: where is this binary: " + ec.message());
  return self;
}

// Waits until `fd` holds a whole line (peeked, left for the reader); an Error when the other
// end closes first or `until` passes.
Status wait_for_line(int fd, Clock::time_point until) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0 && (std::memchr(buf, '\n', static_cast<std::size_t>(n)) || n == sizeof buf)) return ok();
    if (n == 0) return Error("closed the connection before its first line");
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Error::sys("reading its first line");
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
    if (left.count() <= 0) return Error("said no whole line in 30 s");
    if (n > 0) {  // part of a line: readable already, so wait a little instead of polling
      std::this_thread::sleep_for(20ms);
      continue;
    }
    pollfd p{fd, POLLIN, 0};
    (void)::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
  }
}

}  // namespace

std::string VmSut::guest_error_text(const std::string& guest_path) {
  auto err = guest_ ? guest_->read_file(guest_path, 4096) : Result<std::string>(Error("no guest"));
  std::string why = err && !err->empty() ? ": " + *err : "";
  while (!why.empty() && why.back() == '\n') why.pop_back();
  return why;
}

Result<unique_fd> VmSut::watch_guest_xfrm() {
  if (!guest_) return Error("vm SUT: no guest");
  IST_TRY_ASSIGN(const std::string self, own_binary());
  // busybox nc serves the watcher's stdout on one connection (-e runs it once connected),
  // so its snapshot line is the first we read and nothing piles up in the guest meanwhile.
  vm::SpawnRequest req;
  req.argv = {"/bin/busybox", "nc", "-l", "-p", std::to_string(kGuestXfrmWatchPort), "-e", self, "xfrm", "--json",
              "--watch", "--interval", "500ms"};  // at least one sample per orchestrator tick
  req.log_path = kGuestXfrmWatchErr;
  IST_TRY_ASSIGN(uint32_t id, guest_->spawn(req));
  xfrm_watch_id_ = id;
  const auto deadline = Clock::now() + 10s;
  Result<unique_fd> fd = Error("not tried");
  while (Clock::now() < deadline) {
    fd = guest_->connect_tcp(kGuestViciAddress, kGuestXfrmWatchPort, 2s);
    if (fd) {
      // The watcher loads this binary over 9p (seconds under TCG): wait for its whole
      // snapshot line so the run's first second already has the guest's counts. A watcher
      // that fails closes the connection instead: its own words say why.
      if (auto line = wait_for_line(fd->get(), deadline + 20s); !line)
        return std::move(line).error().wrap("vm SUT: the guest's xfrm watcher" + guest_error_text(kGuestXfrmWatchErr));
      return fd;
    }
    auto st = guest_->poll(id);
    if (st && !st->running) return Error("vm SUT: the guest's xfrm watcher " + st->status.describe());
    std::this_thread::sleep_for(100ms);
  }
  return std::move(fd).error().wrap("vm SUT: connecting to the guest's xfrm watcher");
}

Status VmSut::connect_vici(EventLoop& loop) {
  // charon opens its vici socket a moment after it starts: retry until it listens or dies.
  const auto deadline = Clock::now() + 30s;
  Result<unique_fd> fd = Error("not tried");
  while (Clock::now() < deadline) {
    fd = guest_->connect_tcp(kGuestViciAddress, kGuestViciPort, 2s);
    if (fd) break;
    auto st = guest_->poll(charon_id_);
    if (st && !st->running) {
      (void)copy_log_back();
      return Error("vm SUT: charon in the guest " + st->status.describe() + " before vici answered (see " +
                   work_dir_ + "/charon.out and charon.log)");
    }
    std::this_thread::sleep_for(200ms);
  }
  if (!fd) {
    (void)copy_log_back();
    return std::move(fd).error().wrap("vm SUT: charon in the guest did not open vici (see " + log_path_ + ")");
  }
  IST_TRY_ASSIGN(session_, vici::Session::adopt(loop, std::move(*fd)));
  auto v = session_->call("version", {}, 10s);
  if (!v) return std::move(v).error().wrap("vm SUT: vici version");
  version_ = v->get_or("daemon", "charon") + " " + v->get_or("version", "?") + " (" + v->get_or("sysname", "?") +
             " " + v->get_or("release", "?") + " " + v->get_or("machine", "?") + ")";
  return ok();
}

VmSut::~VmSut() { (void)stop(); }

std::string VmSut::accel() const { return guest_ ? std::string(vm::accel_name(guest_->accel())) : ""; }

void VmSut::count_established(std::function<void(Result<uint64_t>)> done) {
  count_established_sas(session_.get(), [this, done](Result<uint64_t> n) {
    if (auto k = count_kernel_esp_states())
      esp_states_at_count_ = *k;
    else
      log::warn("vm SUT: counting the guest kernel's ESP states: ", k.error().describe());
    done(std::move(n));
  });
}

void VmSut::sample_stats(std::function<void(Result<reports::SutSample>)> done) {
  sample_charon_stats(session_.get(), std::move(done));
}

Result<uint64_t> VmSut::count_kernel_esp_states() {
  if (!guest_) return Error("vm SUT: no guest");
  IST_TRY_ASSIGN(std::string dump, guest_->run({"/bin/ip", "xfrm", "state", "list", "proto", "esp"}, 60s));
  return count_esp_lines(dump);
}

bool VmSut::healthy(std::string* why) {
  if (stopped_) return true;
  std::string reason;
  if (guest_ && !guest_->alive(&reason)) {
    if (why) *why = "the guest stopped: " + reason;
    return false;
  }
  if (!session_ || !session_->is_open()) {
    if (why) *why = "charon in the guest closed its vici connection";
    return false;
  }
  return true;
}

ProcessUsage VmSut::usage() {
  if (guest_) last_usage_ = guest_->usage();
  return last_usage_;
}

Status VmSut::copy_log_back() {
  if (!guest_) return Error("vm SUT: no guest to copy the log from");
  Status first = ok();
  for (auto [guest_path, host_path] : {std::pair<std::string, std::string>{kGuestCharonLog, log_path_},
                                       {kGuestCharonOutput, work_dir_ + "/charon.out"}}) {
    auto text = guest_->read_file(guest_path, 512u << 20);
    if (!text) {
      if (first) first = std::move(text).error().wrap("copying " + guest_path + " out of the guest");
      continue;
    }
    if (auto st = write_file_atomic(host_path, *text); !st && first) first = std::move(st);
  }
  return first;
}

Status VmSut::stop() {
  if (stopped_) return ok();
  usage();
  stopped_ = true;
  session_.reset();
  Status first = ok();
  if (guest_ && guest_->alive()) {
    if (charon_started_) {
      // charon deletes its SAs on SIGTERM; wait for it so the log is complete.
      (void)guest_->signal(charon_id_, SIGTERM);
      const auto deadline = Clock::now() + 10s;
      while (Clock::now() < deadline) {
        auto st = guest_->poll(charon_id_);
        if (!st || !st->running) break;
        std::this_thread::sleep_for(100ms);
      }
    }
    if (xfrm_watch_id_) (void)guest_->signal(*xfrm_watch_id_, SIGTERM);
    if (auto st = copy_log_back(); !st) first = std::move(st);
    // The guest kernel's XFRM error counters over the whole run, next to charon's log (the
    // run's XFRM observer watches the host namespaces, which hold no SAs with this backend).
    if (auto stat = guest_->run({"/bin/cat", "/proc/net/xfrm_stat"}, 10s)) {
      if (auto st = write_file_atomic(work_dir_ + "/xfrm_stat", *stat); !st && first) first = std::move(st);
    }
  }
  if (guest_) {
    usage();
    if (auto st = guest_->shutdown(); !st && first) first = std::move(st);
  }
  guest_.reset();
  return first;
}

Status VmSut::start_data_sink(const std::string& address, uint16_t port) {
  if (!guest_) return Error("vm SUT: no guest");
  IST_TRY_ASSIGN(const std::string self, own_binary());
  vm::SpawnRequest req;
  req.argv = {self, "udp-echo", "--bind", address + ":" + std::to_string(port), "--counts", kGuestSinkCounts};
  req.log_path = kGuestSinkErr;
  IST_TRY_ASSIGN(uint32_t id, guest_->spawn(req));
  data_sink_id_ = id;
  // It writes its (empty) counts once its socket is bound.
  const auto deadline = Clock::now() + 10s;
  while (Clock::now() < deadline) {
    if (guest_->read_file(kGuestSinkCounts)) return ok();
    auto st = guest_->poll(id);
    if (st && !st->running)
      return Error("vm SUT: the guest's data sink " + st->status.describe() + guest_error_text(kGuestSinkErr));
    std::this_thread::sleep_for(50ms);
  }
  return Error("vm SUT: the guest's data sink did not start within 10 s");
}

Result<std::string> VmSut::read_guest_file(const std::string& path) {
  if (!guest_) return Error("vm SUT: no guest");
  return guest_->read_file(path);
}

Result<std::string> VmSut::read_data_sink_counts() {
  if (!guest_ || !data_sink_id_) return Error("vm SUT: no data sink in the guest");
  return guest_->read_file(kGuestSinkCounts);
}

}  // namespace ist::run
