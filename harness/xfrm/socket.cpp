#include "xfrm/socket.hpp"

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>

namespace ist::xfrm {

namespace {

constexpr std::size_t kBufSize = 1 << 16;

std::vector<uint8_t> build(uint16_t type, uint16_t flags, uint32_t seq, std::span<const uint8_t> body) {
  std::vector<uint8_t> msg(NLMSG_HDRLEN + NLMSG_ALIGN(body.size()), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + body.size());
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  std::memcpy(msg.data(), &h, sizeof h);
  if (!body.empty()) std::memcpy(msg.data() + NLMSG_HDRLEN, body.data(), body.size());
  return msg;
}

template <class T>
std::span<const uint8_t> bytes_of(const T& v) {
  return {reinterpret_cast<const uint8_t*>(&v), sizeof v};
}

}  // namespace

Result<XfrmSocket> XfrmSocket::open(const NetnsRunner& in, std::initializer_list<unsigned> groups, int rcvbuf) {
  XfrmSocket s;
  IST_TRY(in([&]() -> Status {
    s.fd_.reset(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_XFRM));
    if (!s.fd_) return Error::sys("opening a NETLINK_XFRM socket");
    return ok();
  }));
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  if (::bind(s.fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return Error::sys("binding the NETLINK_XFRM socket");
  for (unsigned g : groups) {
    if (::setsockopt(s.fd_.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &g, sizeof g) != 0)
      return Error::sys("joining XFRM multicast group " + std::to_string(g));
  }
  if (rcvbuf > 0 && ::setsockopt(s.fd_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) != 0 &&
      ::setsockopt(s.fd_.get(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) != 0)
    return Error::sys("setting the NETLINK_XFRM receive buffer");
  s.buf_.resize(kBufSize);
  return s;
}

Result<std::span<const uint8_t>> XfrmSocket::receive() {
  if (!fd_) return Error("XFRM socket is not open");
  ssize_t n = ::recv(fd_.get(), buf_.data(), buf_.size(), MSG_DONTWAIT | MSG_TRUNC);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return std::span<const uint8_t>{};
    return Error::sys("receiving from NETLINK_XFRM");
  }
  if (static_cast<std::size_t>(n) > buf_.size()) {
    buf_.resize(static_cast<std::size_t>(n));  // next one fits; this one is cut
    return Error("XFRM datagram of " + std::to_string(n) + " bytes was truncated", EMSGSIZE);
  }
  return std::span<const uint8_t>(buf_.data(), static_cast<std::size_t>(n));
}

Result<std::vector<Message>> XfrmSocket::request(uint16_t type, uint16_t flags, std::span<const uint8_t> body,
                                                 std::chrono::milliseconds timeout) {
  if (!fd_) return Error("XFRM socket is not open");
  const uint32_t seq = ++seq_;
  auto msg = build(type, static_cast<uint16_t>(flags | NLM_F_REQUEST), seq, body);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd_.get(), msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0)
    return Error::sys("sending XFRM request " + std::to_string(type));
  const bool dump = flags & NLM_F_DUMP;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<Message> out;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error("no answer to XFRM request " + std::to_string(type) + " in time", ETIMEDOUT);
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno != EINTR) return Error::sys("waiting for an XFRM answer");
    if (r <= 0) continue;
    IST_TRY_ASSIGN(auto dgram, receive());
    if (dgram.empty()) continue;
    bool finished = false;
    std::optional<Error> bad;
    Status framing = for_each_message(dgram, [&](Result<Message> m) {
      if (finished) return;
      if (!m) {
        if (!bad) bad = m.error();
        return;
      }
      if (m->seq != seq) return;  // a stale answer to an earlier, timed-out request
      if (auto* e = std::get_if<NlError>(&m->body)) {
        finished = true;
        if (e->error != 0) out.clear(), out.push_back(std::move(*m));
        return;
      }
      if (std::holds_alternative<Done>(m->body)) {
        finished = true;
        return;
      }
      out.push_back(std::move(*m));
      if (!dump) finished = true;
    });
    if (!framing) return std::move(framing).error().wrap("reading XFRM answers");
    if (bad) return std::move(*bad).wrap("reading XFRM answers");
    if (!finished) continue;
    if (out.size() == 1) {
      if (auto* e = std::get_if<NlError>(&out.front().body))
        return Error("kernel refused XFRM request " + std::to_string(type), -e->error);
    }
    return out;
  }
}

Result<Counts> XfrmSocket::counts() {
  const uint32_t flags = 0;
  Counts c;
  IST_TRY_ASSIGN(auto sad, request(XFRM_MSG_GETSADINFO, 0, bytes_of(flags)));
  IST_TRY_ASSIGN(auto spd, request(XFRM_MSG_GETSPDINFO, 0, bytes_of(flags)));
  bool got_sad = false, got_spd = false;
  for (const auto& m : sad)
    if (auto* s = std::get_if<SadInfo>(&m.body)) c.sas = s->count, got_sad = true;
  for (const auto& m : spd)
    if (auto* s = std::get_if<SpdInfo>(&m.body)) c.policies = *s, got_spd = true;
  if (!got_sad || !got_spd) return Error("kernel answered XFRM count requests with something else");
  return c;
}

Result<std::vector<SaInfo>> XfrmSocket::dump_sas() {
  xfrm_usersa_id id{};
  IST_TRY_ASSIGN(auto msgs, request(XFRM_MSG_GETSA, NLM_F_DUMP, bytes_of(id), std::chrono::milliseconds(10000)));
  std::vector<SaInfo> out;
  for (const auto& m : msgs)
    if (auto* s = std::get_if<SaChange>(&m.body)) out.push_back(s->sa);
  return out;
}

Result<std::vector<PolicyInfo>> XfrmSocket::dump_policies() {
  xfrm_userpolicy_id id{};
  IST_TRY_ASSIGN(auto msgs, request(XFRM_MSG_GETPOLICY, NLM_F_DUMP, bytes_of(id), std::chrono::milliseconds(10000)));
  std::vector<PolicyInfo> out;
  for (const auto& m : msgs)
    if (auto* p = std::get_if<PolicyChange>(&m.body)) out.push_back(p->policy);
  return out;
}

}  // namespace ist::xfrm
