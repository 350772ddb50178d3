#include "xfrm/line_feed.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/xfrm.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace ist::xfrm {

using json = nlohmann::json;

namespace {

std::string str_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

uint64_t num_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

Address address_of(const std::string& text) {
  Address a;
  if (text.empty()) return a;
  if (inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1)
    a.family = AF_INET;
  else if (inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1)
    a.family = AF_INET6;
  return a;
}

// "198.18.254.1/32" -> address and prefix length ("" = no family).
void prefixed_of(const std::string& text, Address& a, uint8_t& len) {
  auto slash = text.find('/');
  a = address_of(text.substr(0, slash));
  len = slash == std::string::npos ? 0 : static_cast<uint8_t>(std::atoi(text.c_str() + slash + 1));
}

// The inverses of proto_name() and mode_name() (message.hpp), which wrote the lines; a
// protocol without a name is written as its number.
uint8_t proto_of(const std::string& name) {
  if (name == "?") return 0;  // a protocol proto_name() does not know: nothing to read back
  for (unsigned p = 1; p < 256; ++p)
    if (proto_name(static_cast<uint8_t>(p)) == name) return static_cast<uint8_t>(p);
  if (!name.empty() && name.size() <= 3 && name.find_first_not_of("0123456789") == std::string::npos)
    return static_cast<uint8_t>(std::atoi(name.c_str()));
  return 0;  // "any"
}

uint8_t mode_of(const std::string& name) {
  for (uint8_t m = 0; m < XFRM_MODE_MAX; ++m)
    if (mode_name(m) == name) return m;
  return XFRM_MODE_TRANSPORT;
}

Selector selector_of(const json& j) {
  Selector s;
  if (!j.is_object()) return s;
  prefixed_of(str_of(j, "src"), s.src, s.prefix_src);
  prefixed_of(str_of(j, "dst"), s.dst, s.prefix_dst);
  s.proto = proto_of(str_of(j, "proto"));
  s.sport = static_cast<uint16_t>(num_of(j, "sport"));
  s.dport = static_cast<uint16_t>(num_of(j, "dport"));
  return s;
}

SaInfo sa_of(const json& j) {
  SaInfo s;
  if (!j.is_object()) return s;
  s.src = address_of(str_of(j, "src"));
  s.dst = address_of(str_of(j, "dst"));
  s.spi = static_cast<uint32_t>(std::strtoul(str_of(j, "spi").c_str(), nullptr, 16));
  s.proto = proto_of(str_of(j, "proto"));
  s.mode = mode_of(str_of(j, "mode"));
  s.reqid = static_cast<uint32_t>(num_of(j, "reqid"));
  if (auto it = j.find("sel"); it != j.end()) s.sel = selector_of(*it);
  return s;
}

PolicyInfo policy_of(const json& j) {
  PolicyInfo p;
  if (!j.is_object()) return p;
  const std::string dir = str_of(j, "dir");
  p.dir = dir == "in" ? Direction::in : dir == "out" ? Direction::out : dir == "fwd" ? Direction::fwd : Direction::other;
  p.index = static_cast<uint32_t>(num_of(j, "index"));
  p.priority = static_cast<uint32_t>(num_of(j, "priority"));
  p.block = str_of(j, "action") == "block";
  if (auto it = j.find("sel"); it != j.end()) p.sel = selector_of(*it);
  return p;
}

Counts counts_of(const json& line) {
  Counts c;
  c.sas = static_cast<uint32_t>(num_of(line, "sa"));
  if (auto it = line.find("policies"); it != line.end() && it->is_object()) {
    c.policies.in = static_cast<uint32_t>(num_of(*it, "in"));
    c.policies.out = static_cast<uint32_t>(num_of(*it, "out"));
    c.policies.fwd = static_cast<uint32_t>(num_of(*it, "fwd"));
    c.policies.in_socket = static_cast<uint32_t>(num_of(*it, "in_socket"));
    c.policies.out_socket = static_cast<uint32_t>(num_of(*it, "out_socket"));
    c.policies.fwd_socket = static_cast<uint32_t>(num_of(*it, "fwd_socket"));
  }
  return c;
}

}  // namespace

std::optional<Body> body_from_event_line(const json& j) {
  if (!j.is_object()) return std::nullopt;
  const std::string kind = str_of(j, "kind");
  if (kind == "acquire") {
    Acquire a;
    a.src = address_of(str_of(j, "src"));
    a.dst = address_of(str_of(j, "dst"));
    a.proto = proto_of(str_of(j, "proto"));
    if (auto it = j.find("flow"); it != j.end()) a.flow = selector_of(*it);
    if (auto it = j.find("policy"); it != j.end()) a.policy = policy_of(*it);
    a.seq = static_cast<uint32_t>(num_of(j, "seq"));
    return Body{a};
  }
  if (kind == "expire") {
    Expire e;
    auto hard = j.find("hard");
    e.hard = hard != j.end() && hard->is_boolean() && hard->get<bool>();
    if (auto it = j.find("sa"); it != j.end()) e.sa = sa_of(*it);
    return Body{e};
  }
  if (kind == "delete_sa") {
    SaChange c;
    c.kind = SaChange::Kind::deleted;
    if (auto it = j.find("sa"); it != j.end()) c.sa = sa_of(*it);
    return Body{c};
  }
  return std::nullopt;
}

Result<std::unique_ptr<LineFeed>> LineFeed::start(EventLoop& loop, unique_fd fd, OnEvent on_event) {
  if (!fd.valid()) return Error("xfrm line feed: no connection");
  int flags = fcntl(fd.get(), F_GETFL);
  if (flags < 0 || fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) return Error::sys("xfrm line feed: fcntl O_NONBLOCK");
  std::unique_ptr<LineFeed> f(new LineFeed(loop, std::move(fd), std::move(on_event)));
  LineFeed* self = f.get();
  IST_TRY(loop.add_fd(self->fd_.get(), EPOLLIN, [self](uint32_t) { self->drain(); }));
  return f;
}

LineFeed::~LineFeed() {
  if (fd_.valid() && !closed_) loop_.remove_fd(fd_.get());
}

void LineFeed::drain() {
  if (closed_) return;
  char chunk[16384];
  // Bounded per wakeup (level-triggered: the rest wakes us again).
  for (int round = 0; round < 64; ++round) {
    ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
      closed_ = true;
      loop_.remove_fd(fd_.get());
      return;
    }
    const MonoTime now = loop_.clock().now();
    std::string_view data(chunk, static_cast<std::size_t>(n));
    while (!data.empty()) {
      auto nl = data.find('\n');
      std::string_view part = data.substr(0, nl);
      if (!discarding_) buf_.append(part);
      if (buf_.size() > kMaxLine) {
        buf_.clear();
        if (!discarding_) ++malformed_;
        discarding_ = true;
      }
      if (nl == std::string_view::npos) break;
      if (!discarding_) line(buf_, now);
      buf_.clear();
      discarding_ = false;
      data.remove_prefix(nl + 1);
    }
  }
}

void LineFeed::line(std::string_view text, MonoTime now) {
  ++lines_;
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    ++malformed_;
    return;
  }
  const std::string kind = str_of(j, "kind");
  if (kind == "snapshot" || kind == "sample") {
    pending_.counts = counts_of(j);
    have_counts_ = true;
    if (kind == "sample") {
      ++pending_.samples;
      if (auto it = j.find("xfrm_stat"); it != j.end() && it->is_object())
        for (const auto& [name, v] : it->items())
          if (v.is_number_integer()) pending_.xfrm_stat_delta[name] += v.get<int64_t>();
    }
    return;
  }
  if (kind == "acquire") ++pending_.acquires;
  if (kind == "expire") ++pending_.expires;
  if (auto body = body_from_event_line(j); body && on_event_) on_event_(now, std::move(*body));
}

std::optional<FeedTotals> LineFeed::take() {
  if (!have_counts_) return std::nullopt;
  FeedTotals out = std::move(pending_);
  pending_ = FeedTotals{};
  pending_.counts = out.counts;  // counts stay until a newer sample says otherwise
  return out;
}

}  // namespace ist::xfrm
