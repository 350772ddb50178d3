#include "vici/session.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace ist::vici {

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr int kMaxReadsPerWakeup = 64;  // lets timers and other fds run during big streams

Result<unique_fd> connect_unix(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return Error("vici socket path '" + path + "' is empty or longer than " +
                 std::to_string(sizeof(addr.sun_path) - 1) + " bytes");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  unique_fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return Error::sys("socket(AF_UNIX)");
  // A unix stream connect completes at once (or fails); the socket is made non-blocking
  // afterwards.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    if (err == ENOENT)
      return Error("no vici socket at " + path +
                       " (is charon running with the vici plugin and this socket configured?)",
                   err);
    struct stat st{};
    if (err == ECONNREFUSED && ::stat(path.c_str(), &st) == 0 && !S_ISSOCK(st.st_mode))
      return Error(path + " is not a socket", ENOTSOCK);
    if (err == ECONNREFUSED)
      return Error("nothing listens on vici socket " + path +
                       " (stale socket file: charon is not running)",
                   err);
    return Error("connecting to vici socket " + path, err);
  }
  return fd;
}

// tcp://HOST:PORT with HOST an IPv4 literal or a bracketed IPv6 literal. Names are not
// resolved: the harness talks only to addresses it was given.
Result<sockaddr_storage> parse_tcp_uri(const std::string& uri, socklen_t& len) {
  auto bad = [&](const std::string& why) {
    return Error("vici address '" + uri + "': " + why +
                 " (expected tcp://IPv4:PORT or tcp://[IPv6]:PORT)", EINVAL);
  };
  std::string_view rest(uri);
  rest.remove_prefix(std::string_view(kTcpScheme).size());
  std::string host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad("no ']' after the IPv6 address");
    host.assign(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("no ':PORT' after the address");
    port = rest.substr(1);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad("no ':PORT'");
    host.assign(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535)
    return bad("port '" + std::string(port) + "' is not 1..65535");
  sockaddr_storage ss{};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(value));
    len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(value));
    len = sizeof(sockaddr_in6);
  } else {
    return bad("'" + host + "' is not an IP address (names are not resolved)");
  }
  return ss;
}

Error tcp_connect_error(const std::string& uri, int err, std::chrono::milliseconds timeout) {
  switch (err) {
    case ECONNREFUSED:
      return Error("nothing listens on vici " + uri +
                       " (connection refused: is charon's vici plugin configured with this "
                       "socket, e.g. charon.plugins.vici.socket = " + uri + "?)",
                   err);
    case EHOSTUNREACH:
    case ENETUNREACH:
      return Error("vici " + uri + " is unreachable from here (" + std::strerror(err) +
                       ": no route, or the host does not answer ARP)",
                   err);
    case ETIMEDOUT:
      return Error("vici " + uri + " did not accept the connection within " +
                       std::to_string(timeout.count()) +
                       " ms (host down, or a firewall drops the SYN)",
                   err);
    default:
      return Error("connecting to vici " + uri, err);
  }
}

// A non-blocking connect bounded by `timeout`, so an address that drops SYNs costs at
// most that long instead of the kernel's two minutes.
Result<unique_fd> connect_tcp(const std::string& uri, std::chrono::milliseconds timeout) {
  socklen_t len = 0;
  IST_TRY_ASSIGN(auto addr, parse_tcp_uri(uri, len));
  unique_fd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Error::sys("socket(TCP)");
  int one = 1;
  // Requests are small and pipelined: do not hold them back for Nagle.
  (void)::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) return fd;
  if (errno != EINPROGRESS) return tcp_connect_error(uri, errno, timeout);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left <= std::chrono::milliseconds::zero()) return tcp_connect_error(uri, ETIMEDOUT, timeout);
    pollfd p{fd.get(), POLLOUT, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::sys("poll on vici connect to " + uri);
    if (n == 0) return tcp_connect_error(uri, ETIMEDOUT, timeout);
    int err = 0;
    socklen_t elen = sizeof err;
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
      return Error::sys("getsockopt SO_ERROR on vici connect to " + uri);
    if (err != 0) return tcp_connect_error(uri, err, timeout);
    return fd;
  }
}

Result<unique_fd> connect_endpoint(const std::string& where, std::chrono::milliseconds timeout) {
  if (is_tcp_uri(where)) return connect_tcp(where, timeout);
  return connect_unix(where);
}

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return Error::sys("fcntl O_NONBLOCK");
  return ok();
}

}  // namespace

bool is_tcp_uri(std::string_view where) { return where.starts_with(kTcpScheme); }

Session::Session(EventLoop& loop, unique_fd fd, std::string socket_path, SessionOptions options)
    : loop_(loop),
      fd_(std::move(fd)),
      socket_path_(std::move(socket_path)),
      options_(options),
      reader_(options.max_packet_size) {}

Result<std::unique_ptr<Session>> Session::connect(EventLoop& loop, const std::string& socket_path,
                                                  SessionOptions options) {
  IST_TRY_ASSIGN(auto fd, connect_endpoint(socket_path, options.connect_timeout));
  std::unique_ptr<Session> s(new Session(loop, std::move(fd), socket_path, options));
  IST_TRY(s->attach());
  return s;
}

Result<std::unique_ptr<Session>> Session::adopt(EventLoop& loop, unique_fd fd,
                                                SessionOptions options) {
  if (!fd) return Error("vici adopt: invalid fd");
  std::unique_ptr<Session> s(new Session(loop, std::move(fd), "", options));
  IST_TRY(s->attach());
  return s;
}

Status Session::attach() {
  IST_TRY(set_nonblocking(fd_.get()));
  want_write_ = false;
  return loop_.add_fd(fd_.get(), EPOLLIN | EPOLLRDHUP,
                      [this](uint32_t events) { on_ready(events); });
}

Session::~Session() {
  *alive_ = false;
  for (auto& p : pending_)
    if (p->timer) loop_.cancel(p->timer);
  if (fd_) loop_.remove_fd(fd_.get());
}

// ------------------------------------------------------------------ sending

Status Session::queue_packet(PacketType type, std::string_view name, const Message* message) {
  if (!fd_) return Error("vici session is closed", ECONNRESET);
  IST_TRY(append_packet(out_, type, name, message, options_.max_packet_size));
  if (!want_write_) {
    // Written when the loop next sees the socket writable: requests queued in one go
    // leave in as few write() calls as the socket buffer allows.
    IST_TRY(loop_.modify_fd(fd_.get(), EPOLLIN | EPOLLRDHUP | EPOLLOUT));
    want_write_ = true;
  }
  return ok();
}

void Session::defer_error(ResponseHandler done, Error error) {
  if (!done) return;
  loop_.after(std::chrono::nanoseconds(0),
              [done = std::move(done), error = std::move(error)]() mutable { done(std::move(error)); });
}

void Session::arm_timer(const std::shared_ptr<Pending>& p, std::optional<Timeout> timeout) {
  Timeout t = timeout.value_or(options_.default_timeout);
  if (t <= Timeout::zero()) return;
  std::weak_ptr<Pending> weak = p;
  p->timer = loop_.after(t, [this, weak] {
    if (auto sp = weak.lock()) sp->timer = 0;  // fired: nothing left to cancel
    on_timeout(weak);
  });
}

void Session::on_timeout(const std::weak_ptr<Pending>& weak) {
  auto p = weak.lock();
  if (!p || p->abandoned) return;
  p->abandoned = true;
  auto what = p->kind == Pending::Kind::command ? "vici command '" + p->name + "'"
                                                : "vici event registration '" + p->name + "'";
  Error e(what + " got no reply in time (" + std::to_string(in_flight()) +
              " repl(ies) outstanding on this connection)",
          ETIMEDOUT);
  if (p->done) std::exchange(p->done, nullptr)(std::move(e));
  else if (p->confirmed) std::exchange(p->confirmed, nullptr)(std::move(e));
  p->on_item = nullptr;
}

void Session::request(std::string_view command, const Message& args, ResponseHandler done,
                      std::optional<Timeout> timeout) {
  auto st = queue_packet(PacketType::cmd_request, command, &args);
  if (!st) {
    defer_error(std::move(done), std::move(st).error().wrap("vici command '" + std::string(command) + "'"));
    return;
  }
  auto p = std::make_shared<Pending>();
  p->kind = Pending::Kind::command;
  p->name.assign(command);
  p->done = std::move(done);
  pending_.push_back(p);
  arm_timer(p, timeout);
}

void Session::acquire_event(const std::string& event, StatusHandler confirmed) {
  int& refs = event_refs_[event];
  if (refs++ > 0) {
    // Already registered (or registering): confirm on the next loop turn.
    if (confirmed)
      loop_.after(std::chrono::nanoseconds(0), [c = std::move(confirmed)] { c(ok()); });
    return;
  }
  auto st = queue_packet(PacketType::event_register, event, nullptr);
  if (!st) {
    if (confirmed) {
      auto e = std::move(st).error();
      loop_.after(std::chrono::nanoseconds(0), [c = std::move(confirmed), e] { c(e); });
    }
    return;
  }
  auto p = std::make_shared<Pending>();
  p->kind = Pending::Kind::register_event;
  p->name = event;
  p->confirmed = std::move(confirmed);
  pending_.push_back(p);
  arm_timer(p, std::nullopt);
}

void Session::release_event(const std::string& event) {
  auto it = event_refs_.find(event);
  if (it == event_refs_.end() || --it->second > 0) return;
  event_refs_.erase(it);
  if (!queue_packet(PacketType::event_unregister, event, nullptr)) return;
  auto p = std::make_shared<Pending>();
  p->kind = Pending::Kind::unregister_event;
  p->name = event;
  pending_.push_back(p);
  arm_timer(p, std::nullopt);
}

void Session::stream(std::string_view command, std::string_view event, const Message& args,
                     StreamItemHandler on_item, ResponseHandler done,
                     std::optional<Timeout> timeout) {
  if (!fd_) {
    defer_error(std::move(done), Error("vici session is closed", ECONNRESET)
                                     .wrap("vici command '" + std::string(command) + "'"));
    return;
  }
  auto p = std::make_shared<Pending>();
  p->kind = Pending::Kind::command;
  p->name.assign(command);
  p->done = std::move(done);
  p->on_item = std::move(on_item);
  p->stream_event.assign(event);
  std::weak_ptr<Pending> weak = p;
  acquire_event(p->stream_event, [weak](Status st) {
    if (auto sp = weak.lock(); sp && !st) sp->registration_failed = true;
  });
  auto st = queue_packet(PacketType::cmd_request, command, &args);
  if (!st) {
    release_event(p->stream_event);
    defer_error(std::move(p->done), std::move(st).error().wrap("vici command '" + p->name + "'"));
    return;
  }
  pending_.push_back(p);
  arm_timer(p, timeout);
  release_event(p->stream_event);
}

Session::SubscriptionId Session::subscribe(std::string_view event, EventHandler handler,
                                           StatusHandler confirmed) {
  SubscriptionId id = next_subscription_++;
  subscriptions_.emplace(id, Subscription{std::string(event), std::move(handler)});
  if (fd_) {
    acquire_event(std::string(event), std::move(confirmed));
  } else if (confirmed) {
    // Registered again by reconnect().
    loop_.after(std::chrono::nanoseconds(0), [c = std::move(confirmed)] {
      c(Error("vici session is closed; the subscription waits for reconnect()", ECONNRESET));
    });
  }
  return id;
}

void Session::unsubscribe(SubscriptionId id) {
  auto it = subscriptions_.find(id);
  if (it == subscriptions_.end()) return;
  std::string event = std::move(it->second.event);
  subscriptions_.erase(it);
  if (fd_) release_event(event);
}

// ------------------------------------------------------------------ blocking helpers

namespace {
// When to give up the loop in a blocking call: the request's own timer answers first, this
// is only a backstop.
MonoTime backstop(const EventLoop& loop, std::chrono::milliseconds t) {
  return t > std::chrono::milliseconds::zero() ? loop.clock().now() + t + std::chrono::seconds(1)
                                               : MonoTime::max();
}
}  // namespace

Result<Message> Session::call(std::string_view command, const Message& args,
                              std::optional<Timeout> timeout) {
  // Shared, not on this stack: the callback may outlive this call if the loop fails.
  auto out = std::make_shared<std::optional<Result<Message>>>();
  request(command, args, [out](Result<Message> r) { out->emplace(std::move(r)); }, timeout);
  IST_TRY_ASSIGN(bool done,
                 loop_.run_until([&out] { return out->has_value(); },
                                 backstop(loop_, timeout.value_or(options_.default_timeout))));
  if (!done) return Error("vici command '" + std::string(command) + "' got no reply", ETIMEDOUT);
  return std::move(**out);
}

Result<Session::StreamResult> Session::call_stream(std::string_view command, std::string_view event,
                                                   const Message& args,
                                                   std::optional<Timeout> timeout) {
  struct State {
    StreamResult result;
    std::optional<Result<Message>> done;
  };
  auto st = std::make_shared<State>();
  stream(
      command, event, args, [st](Message&& m) { st->result.items.push_back(std::move(m)); },
      [st](Result<Message> r) { st->done.emplace(std::move(r)); }, timeout);
  IST_TRY_ASSIGN(bool done,
                 loop_.run_until([&st] { return st->done.has_value(); },
                                 backstop(loop_, timeout.value_or(options_.default_timeout))));
  if (!done) return Error("vici command '" + std::string(command) + "' got no reply", ETIMEDOUT);
  if (!*st->done) return std::move(*st->done).error();
  st->result.response = std::move(st->done->value());
  return std::move(st->result);
}

// ------------------------------------------------------------------ I/O

void Session::on_ready(uint32_t events) {
  auto alive = alive_;
  if (events & EPOLLOUT) {
    flush();
    if (!*alive || !fd_) return;
  }
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) read_available();
}

void Session::flush() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      fail(Error::sys("vici daemon went away: write failed").wrap("vici session"));
      return;
    }
    out_pos_ += static_cast<std::size_t>(n);
  }
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
    if (want_write_ && loop_.modify_fd(fd_.get(), EPOLLIN | EPOLLRDHUP)) want_write_ = false;
  } else if (out_pos_ > (1u << 20)) {
    out_.erase(0, out_pos_);
    out_pos_ = 0;
  }
}

void Session::read_available() {
  auto alive = alive_;
  for (int round = 0; round < kMaxReadsPerWakeup; ++round) {
    char* buf = reader_.prepare(kReadChunk);
    ssize_t n = ::read(fd_.get(), buf, kReadChunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      int err = errno;
      fail(Error("vici daemon went away: read failed at byte " +
                     std::to_string(reader_.stream_offset() + reader_.buffered()),
                 err == 0 ? ECONNRESET : err));
      return;
    }
    if (n == 0) {
      std::string what = "vici daemon closed the connection";
      if (reader_.buffered() > 0)
        what += " in the middle of a frame (" + std::to_string(reader_.buffered()) +
                " byte(s) of it at byte " + std::to_string(reader_.stream_offset()) + ")";
      fail(Error(what, ECONNRESET));
      return;
    }
    reader_.commit(static_cast<std::size_t>(n));
    const DecodeLimits limits{options_.max_packet_size, options_.max_depth};
    while (true) {
      auto frame = reader_.next();
      if (!frame) {
        fail(std::move(frame).error());
        return;
      }
      if (!*frame) break;
      auto packet = decode_packet(**frame, limits, reader_.payload_offset());
      if (!packet) {
        fail(std::move(packet).error());
        return;
      }
      dispatch(std::move(packet).value(), reader_.payload_offset());
      if (!*alive || !fd_) return;
    }
    if (static_cast<std::size_t>(n) < kReadChunk) return;  // drained
  }
}

void Session::dispatch(Packet&& packet, std::size_t offset) {
  auto protocol_error = [&](const std::string& what) {
    fail(Error("vici protocol error: " + what + " at byte " + std::to_string(offset), EPROTO));
  };
  switch (packet.type) {
    case PacketType::cmd_response:
    case PacketType::cmd_unknown: {
      if (pending_.empty() || pending_.front()->kind != Pending::Kind::command)
        return protocol_error(std::string(to_string(packet.type)) + " while no command waits");
      auto p = std::move(pending_.front());
      pending_.pop_front();
      if (p->timer) loop_.cancel(p->timer);
      if (p->abandoned || !p->done) return;
      if (packet.type == PacketType::cmd_unknown)
        return p->done(Error("the daemon has no command '" + p->name + "'", EOPNOTSUPP));
      if (p->registration_failed)
        return p->done(Error("the daemon has no event '" + p->stream_event + "' to stream '" +
                                 p->name + "' with",
                             ENOENT));
      return p->done(std::move(packet.message));
    }
    case PacketType::event_confirm:
    case PacketType::event_unknown: {
      if (pending_.empty() || pending_.front()->kind == Pending::Kind::command)
        return protocol_error(std::string(to_string(packet.type)) + " while no registration waits");
      auto p = std::move(pending_.front());
      pending_.pop_front();
      if (p->timer) loop_.cancel(p->timer);
      if (p->abandoned || !p->confirmed) return;
      if (packet.type == PacketType::event_unknown)
        return p->confirmed(Error("the daemon has no event '" + p->name + "'", ENOENT));
      return p->confirmed(ok());
    }
    case PacketType::event: {
      if (!pending_.empty()) {
        auto& head = pending_.front();
        if (head->kind == Pending::Kind::command && head->stream_event == packet.name) {
          if (head->on_item && !head->abandoned) head->on_item(std::move(packet.message));
          return;
        }
      }
      // Copy the handlers: one of them may unsubscribe (or destroy the session).
      std::vector<EventHandler> handlers;
      for (auto& [id, sub] : subscriptions_)
        if (sub.event == packet.name) handlers.push_back(sub.handler);
      auto alive = alive_;
      for (auto& h : handlers) {
        h(packet.name, packet.message);
        if (!*alive) return;
      }
      return;
    }
    case PacketType::cmd_request:
    case PacketType::event_register:
    case PacketType::event_unregister:
      return protocol_error("the daemon sent a client packet (" +
                            std::string(to_string(packet.type)) + ")");
  }
}

// ------------------------------------------------------------------ closing

void Session::fail(Error error) {
  if (!fd_) return;
  auto alive = alive_;
  loop_.remove_fd(fd_.get());
  fd_.reset();
  out_.clear();
  out_pos_ = 0;
  want_write_ = false;
  reader_ = FrameReader(options_.max_packet_size);
  event_refs_.clear();
  auto pending = std::move(pending_);
  pending_.clear();
  for (auto& p : pending)
    if (p->timer) loop_.cancel(p->timer);
  for (auto& p : pending) {
    if (p->abandoned) continue;
    Error e = error;
    if (p->done) {
      p->done(std::move(e.wrap("vici command '" + p->name + "'")));
    } else if (p->confirmed) {
      p->confirmed(std::move(e.wrap("vici event registration '" + p->name + "'")));
    }
    if (!*alive) return;
  }
  if (on_close_) on_close_(error);
}

void Session::close() { fail(Error("vici session closed by the harness", ECANCELED)); }

Status Session::reconnect() {
  if (fd_) return ok();
  if (socket_path_.empty())
    return Error("vici session was adopted from an fd and cannot reconnect");
  IST_TRY_ASSIGN(fd_, connect_endpoint(socket_path_, options_.connect_timeout));
  if (auto st = attach(); !st) {
    fd_.reset();
    return st;
  }
  std::vector<std::string> events;
  for (auto& [id, sub] : subscriptions_) events.push_back(sub.event);
  for (auto& e : events) acquire_event(e, {});
  return ok();
}

}  // namespace ist::vici
