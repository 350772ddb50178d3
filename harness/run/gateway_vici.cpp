#include "run/gateway_vici.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "charon/settings.hpp"
#include "netns/ip_address.hpp"
#include "run/charon_sut.hpp"
#include "vici/commands.hpp"

namespace ist::run {

namespace {

// kLogTimeFormat plus ".mmm", local time: what charon's filelog writes with time_add_ms.
std::string filelog_time(std::chrono::system_clock::time_point at) {
  const auto t = std::chrono::system_clock::to_time_t(at);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[64];
  const std::string fmt(charon::kLogTimeFormat);
  std::size_t n = std::strftime(buf, sizeof buf, fmt.c_str(), &tm);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03d", static_cast<int>(ms < 0 ? ms + 1000 : ms));
  return std::string(buf, n) + frac;
}

std::string two_digits(const std::string& number) {
  return number.size() >= 2 ? number : std::string(2 - number.size(), '0') + number;
}

}  // namespace

std::string gateway_log_line(const vici::Message& event, std::chrono::system_clock::time_point at) {
  // file_logger.c: "<time> %.2d[%N] " then "<name|uid> " when the IKE_SA has a peer config,
  // "<uid> " when it has none (its name is then "(unnamed)").
  std::string prefix = filelog_time(at) + " " + two_digits(event.get_or("thread", "0")) + "[" +
                       event.get_or("group", "???") + "] ";
  if (auto uid = event.get("ikesa-uniqueid")) {
    const std::string name = event.get_or("ikesa-name", "");
    prefix += name.empty() || name == "(unnamed)" ? "<" + std::string(*uid) + "> "
                                                  : "<" + name + "|" + std::string(*uid) + "> ";
  }
  const std::string msg = event.get_or("msg", "");
  std::string out;
  std::size_t start = 0;
  while (true) {
    auto nl = msg.find('\n', start);
    out += prefix;
    out.append(msg, start, nl == std::string::npos ? std::string::npos : nl - start);
    out += '\n';
    if (nl == std::string::npos || nl + 1 >= msg.size()) break;
    start = nl + 1;
  }
  return out;
}

GatewayXfrmEvidence gateway_xfrm_evidence(const std::vector<std::string>& plugins) {
  if (plugins.empty())
    return {false, "the gateway's vici `stats` lists no plugins: whether its kernel holds the SAs is unknown"};
  auto loaded = [&](std::string_view name) { return std::find(plugins.begin(), plugins.end(), name) != plugins.end(); };
  if (loaded("kernel-libipsec"))
    return {false, "the gateway's charon loaded kernel-libipsec (vici `stats` plugins): its SAs may live in "
                   "charon's userland, not the kernel's XFRM"};
  if (!loaded("kernel-netlink"))
    return {false, "the gateway's charon did not load kernel-netlink (vici `stats` plugins): not kernel XFRM"};
  return {true, "the gateway's charon loaded kernel-netlink and not kernel-libipsec (vici `stats` plugins): its "
                "CHILD_SAs are kernel XFRM SAs"};
}

Result<std::unique_ptr<GatewayVici>> GatewayVici::connect(EventLoop& loop, const std::string& host,
                                                          uint16_t port, std::string log_path,
                                                          std::chrono::milliseconds timeout) {
  std::unique_ptr<GatewayVici> gw(new GatewayVici());
  gw->uri_ = std::string(vici::kTcpScheme) + netns::host_port(host, port);
  gw->log_path_ = std::move(log_path);
  gw->log_fd_ = unique_fd(::open(gw->log_path_.c_str(),
                                 O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640));
  if (!gw->log_fd_) return Error::sys("cannot open the gateway's log file " + gw->log_path_);

  vici::SessionOptions opts;
  opts.connect_timeout = timeout;
  auto session = vici::Session::connect(loop, gw->uri_, opts);
  if (!session) return std::move(session).error().wrap("the gateway's vici (target.vici)");
  gw->session_ = std::move(session).value();
  GatewayVici* self = gw.get();
  gw->session_->on_close([self](const Error& e) { self->closed_why_ = e.describe(); });

  // Wait for the registration: a gateway without the `log` event (or one that does not
  // answer) is refused here, not discovered as an empty log after the run.
  auto confirmed = std::make_shared<std::optional<Status>>();
  gw->session_->subscribe("log", [self](std::string_view, const vici::Message& m) { self->on_log(m); },
                          [confirmed](Status st) { confirmed->emplace(std::move(st)); });
  const auto deadline = loop.clock().now() + timeout;
  IST_TRY_ASSIGN(bool done, loop.run_until([&] { return confirmed->has_value(); }, deadline));
  if (!done)
    return Error("the gateway's vici " + gw->uri_ + " did not confirm the `log` event within " +
                     std::to_string(timeout.count()) + " ms",
                 ETIMEDOUT);
  if (!**confirmed)
    return std::move(**confirmed).error().wrap("subscribing to the gateway's `log` events on " + gw->uri_);
  return gw;
}

GatewayVici::~GatewayVici() = default;

void GatewayVici::on_log(const vici::Message& event) {
  if (!log_problem_.empty()) return;
  const std::string line = gateway_log_line(event, std::chrono::system_clock::now());
  std::size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(log_fd_.get(), line.data() + off, line.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      log_problem_ = Error::sys("writing the gateway's log events to " + log_path_).describe();
      return;
    }
    off += static_cast<std::size_t>(n);
  }
  ++log_lines_;
}

void GatewayVici::count_established(std::function<void(Result<uint64_t>)> done) {
  count_established_sas(session_ && session_->is_open() ? session_.get() : nullptr, std::move(done));
}

void GatewayVici::sample_stats(std::function<void(Result<reports::SutSample>)> done) {
  sample_charon_stats(session_ && session_->is_open() ? session_.get() : nullptr, std::move(done));
}

Result<vici::Stats> GatewayVici::stats_now(std::chrono::milliseconds timeout) {
  if (!session_ || !session_->is_open()) return Error("the gateway's vici " + uri_ + " is closed");
  vici::Session& s = *session_;
  auto r = vici::wait<vici::Stats>(s, [&](auto done) { vici::stats(s, std::move(done), timeout); }, timeout);
  if (!r) return std::move(r).error().wrap("`stats` on the gateway's vici " + uri_);
  return r;
}

bool GatewayVici::alive(std::string* why) {
  if (session_ && session_->is_open()) return true;
  if (why)
    *why = "the gateway's vici " + uri_ + " closed: " +
           (closed_why_.empty() ? std::string("connection gone") : closed_why_);
  return false;
}

}  // namespace ist::run
