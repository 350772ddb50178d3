#include "xfrm/message.hpp"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netinet/in.h>

#include <cstddef>
#include <cstring>
#include <type_traits>

namespace ist::xfrm {

namespace {

// A bounds-checked view: every read copies out, so alignment and overruns never matter.
class Bytes {
 public:
  explicit Bytes(std::span<const uint8_t> b) : b_(b) {}
  std::size_t size() const { return b_.size(); }
  template <class T>
  std::optional<T> read(std::size_t off = 0) const {
    static_assert(std::is_trivially_copyable_v<T>);
    if (off > b_.size() || b_.size() - off < sizeof(T)) return std::nullopt;
    T v;
    std::memcpy(&v, b_.data() + off, sizeof(T));
    return v;
  }
  std::span<const uint8_t> from(std::size_t off) const {
    return off >= b_.size() ? std::span<const uint8_t>{} : b_.subspan(off);
  }

 private:
  std::span<const uint8_t> b_;
};

Error truncated(const char* what, std::size_t have, std::size_t need) {
  return Error(std::string("truncated ") + what + ": " + std::to_string(have) + " bytes, need " +
               std::to_string(need));
}

Address address(const xfrm_address_t& a, uint16_t family) {
  Address out;
  out.family = family;
  if (family == AF_INET)
    std::memcpy(out.bytes.data(), &a.a4, 4);
  else if (family == AF_INET6)
    std::memcpy(out.bytes.data(), &a.a6, 16);
  else
    out.family = 0;  // unknown family: the bytes mean nothing we can print
  return out;
}

Selector selector(const xfrm_selector& s) {
  Selector out;
  out.src = address(s.saddr, s.family);
  out.dst = address(s.daddr, s.family);
  out.prefix_src = s.prefixlen_s;
  out.prefix_dst = s.prefixlen_d;
  out.proto = s.proto;
  out.sport = s.sport_mask ? ntohs(s.sport) : 0;
  out.dport = s.dport_mask ? ntohs(s.dport) : 0;
  out.ifindex = s.ifindex;
  return out;
}

Direction direction(uint8_t d) {
  return d <= XFRM_POLICY_FWD ? static_cast<Direction>(d) : Direction::other;
}

PolicyInfo policy(const xfrm_userpolicy_info& p) {
  PolicyInfo out;
  out.sel = selector(p.sel);
  out.dir = direction(p.dir);
  out.index = p.index;
  out.priority = p.priority;
  out.block = p.action == XFRM_POLICY_BLOCK;
  return out;
}

SaInfo sa_info(const xfrm_usersa_info& s) {
  SaInfo out;
  out.src = address(s.saddr, s.family);
  out.dst = address(s.id.daddr, s.family);
  out.spi = ntohl(s.id.spi);
  out.proto = s.id.proto;
  out.mode = s.mode;
  out.reqid = s.reqid;
  out.sel = selector(s.sel);
  return out;
}

// Attributes after the fixed part of a message, as (type, payload) pairs.
template <class Fn>
Status for_each_attr(std::span<const uint8_t> attrs, Fn&& fn) {
  Bytes b(attrs);
  std::size_t off = 0;
  while (off + NLA_HDRLEN <= b.size()) {
    auto h = b.read<nlattr>(off);
    if (!h || h->nla_len < NLA_HDRLEN || h->nla_len > b.size() - off)
      return Error("bad attribute length at offset " + std::to_string(off));
    fn(static_cast<uint16_t>(h->nla_type & NLA_TYPE_MASK), attrs.subspan(off + NLA_HDRLEN, h->nla_len - NLA_HDRLEN));
    off += NLA_ALIGN(h->nla_len);
  }
  return ok();
}

template <class T>
Result<T> fixed(const Bytes& payload, const char* what) {
  auto v = payload.read<T>();
  if (!v) return truncated(what, payload.size(), sizeof(T));
  return *v;
}

std::span<const uint8_t> attrs_after(std::span<const uint8_t> payload, std::size_t fixed_len) {
  std::size_t off = NLMSG_ALIGN(fixed_len);
  return off >= payload.size() ? std::span<const uint8_t>{} : payload.subspan(off);
}

// A delete notification carries an id, then (optionally) the whole object in one attribute.
template <class T>
Result<std::optional<T>> whole_after_id(std::span<const uint8_t> payload, std::size_t id_len, uint16_t attr) {
  std::optional<T> full;
  IST_TRY(for_each_attr(attrs_after(payload, id_len), [&](uint16_t t, std::span<const uint8_t> v) {
    if (t == attr) full = Bytes(v).read<T>();
  }));
  return full;
}

Result<Body> parse_body(uint16_t type, std::span<const uint8_t> payload) {
  Bytes p(payload);
  switch (type) {
    case NLMSG_DONE: return Body{Done{}};
    case NLMSG_ERROR: {
      IST_TRY_ASSIGN(auto e, fixed<int32_t>(p, "netlink error"));
      return Body{NlError{e}};
    }
    case XFRM_MSG_ACQUIRE: {
      IST_TRY_ASSIGN(auto a, fixed<xfrm_user_acquire>(p, "acquire"));
      Acquire out;
      // The template's family is the policy's selector family for tunnels of the same family;
      // the kernel fills id/saddr from the template, in the selector's family otherwise.
      uint16_t fam = a.sel.family ? a.sel.family : a.policy.sel.family;
      out.dst = address(a.id.daddr, fam);
      out.src = address(a.saddr, fam);
      out.proto = a.id.proto;
      out.flow = selector(a.sel);
      out.policy = policy(a.policy);
      out.seq = a.seq;
      return Body{out};
    }
    case XFRM_MSG_EXPIRE: {
      IST_TRY_ASSIGN(auto s, fixed<xfrm_usersa_info>(p, "expire"));
      auto hard = p.read<uint8_t>(offsetof(xfrm_user_expire, hard));
      if (!hard) return truncated("expire", p.size(), offsetof(xfrm_user_expire, hard) + 1);
      return Body{Expire{sa_info(s), *hard != 0}};
    }
    case XFRM_MSG_POLEXPIRE: {
      IST_TRY_ASSIGN(auto pol, fixed<xfrm_userpolicy_info>(p, "policy expire"));
      auto hard = p.read<uint8_t>(offsetof(xfrm_user_polexpire, hard));
      if (!hard) return truncated("policy expire", p.size(), offsetof(xfrm_user_polexpire, hard) + 1);
      return Body{PolicyExpire{policy(pol), *hard != 0}};
    }
    case XFRM_MSG_NEWSA:
    case XFRM_MSG_UPDSA: {
      IST_TRY_ASSIGN(auto s, fixed<xfrm_usersa_info>(p, "SA"));
      return Body{SaChange{type == XFRM_MSG_NEWSA ? SaChange::Kind::added : SaChange::Kind::updated, sa_info(s)}};
    }
    case XFRM_MSG_DELSA: {
      // A notification: the SA's id, then the whole SA in XFRMA_SA.
      IST_TRY_ASSIGN(auto id, fixed<xfrm_usersa_id>(p, "SA delete"));
      SaChange out{SaChange::Kind::deleted, {}};
      out.sa.dst = address(id.daddr, id.family);
      out.sa.spi = ntohl(id.spi);
      out.sa.proto = id.proto;
      IST_TRY_ASSIGN(auto full, whole_after_id<xfrm_usersa_info>(payload, sizeof id, XFRMA_SA));
      if (full) out.sa = sa_info(*full);
      return Body{out};
    }
    case XFRM_MSG_NEWPOLICY:
    case XFRM_MSG_UPDPOLICY: {
      IST_TRY_ASSIGN(auto pol, fixed<xfrm_userpolicy_info>(p, "policy"));
      return Body{PolicyChange{type == XFRM_MSG_NEWPOLICY ? PolicyChange::Kind::added : PolicyChange::Kind::updated,
                               policy(pol)}};
    }
    case XFRM_MSG_DELPOLICY: {
      IST_TRY_ASSIGN(auto id, fixed<xfrm_userpolicy_id>(p, "policy delete"));
      PolicyChange out{PolicyChange::Kind::deleted, {}};
      out.policy.sel = selector(id.sel);
      out.policy.dir = direction(id.dir);
      out.policy.index = id.index;
      IST_TRY_ASSIGN(auto full, whole_after_id<xfrm_userpolicy_info>(payload, sizeof id, XFRMA_POLICY));
      if (full) out.policy = policy(*full);
      return Body{out};
    }
    case XFRM_MSG_FLUSHSA: {
      IST_TRY_ASSIGN(auto f, fixed<xfrm_usersa_flush>(p, "SA flush"));
      return Body{Flush{false, f.proto}};
    }
    case XFRM_MSG_FLUSHPOLICY: return Body{Flush{true, 0}};
    case XFRM_MSG_NEWSADINFO: {
      IST_TRY(fixed<uint32_t>(p, "SAD info"));
      SadInfo out;
      IST_TRY(for_each_attr(attrs_after(payload, sizeof(uint32_t)), [&](uint16_t t, std::span<const uint8_t> v) {
        if (t == XFRMA_SAD_CNT) out.count = Bytes(v).read<uint32_t>().value_or(0);
        if (t == XFRMA_SAD_HINFO)
          if (auto h = Bytes(v).read<xfrmu_sadhinfo>()) out.hash_buckets = h->sadhcnt;
      }));
      return Body{out};
    }
    case XFRM_MSG_NEWSPDINFO: {
      IST_TRY(fixed<uint32_t>(p, "SPD info"));
      SpdInfo out;
      IST_TRY(for_each_attr(attrs_after(payload, sizeof(uint32_t)), [&](uint16_t t, std::span<const uint8_t> v) {
        if (t != XFRMA_SPD_INFO) return;
        if (auto s = Bytes(v).read<xfrmu_spdinfo>())
          out = {s->incnt, s->outcnt, s->fwdcnt, s->inscnt, s->outscnt, s->fwdscnt};
      }));
      return Body{out};
    }
    default: return Body{Unknown{type}};
  }
}

}  // namespace

std::string Address::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  if (family != AF_INET && family != AF_INET6) return "";
  if (!::inet_ntop(family, bytes.data(), buf, sizeof buf)) return "";
  return buf;
}

std::string_view proto_name(uint8_t p) {
  switch (p) {
    case 0: return "any";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ESP: return "esp";
    case IPPROTO_AH: return "ah";
    case IPPROTO_COMP: return "comp";
    case IPPROTO_ICMPV6: return "ipv6-icmp";
    default: return "?";
  }
}

std::string_view mode_name(uint8_t m) {
  switch (m) {
    case XFRM_MODE_TRANSPORT: return "transport";
    case XFRM_MODE_TUNNEL: return "tunnel";
    case XFRM_MODE_ROUTEOPTIMIZATION: return "ro";
    case XFRM_MODE_IN_TRIGGER: return "in_trigger";
    case XFRM_MODE_BEET: return "beet";
    default: return "?";
  }
}

std::string_view to_string(Direction d) {
  switch (d) {
    case Direction::in: return "in";
    case Direction::out: return "out";
    case Direction::fwd: return "fwd";
    case Direction::other: return "other";
  }
  return "other";
}

std::string Selector::str() const {
  if (!src.family && !dst.family) return "any";
  std::string s = src.str() + "/" + std::to_string(prefix_src) + " -> " + dst.str() + "/" + std::to_string(prefix_dst);
  if (proto) {
    s += " ";
    auto name = proto_name(proto);
    s += name == "?" ? std::to_string(proto) : std::string(name);
    if (sport || dport) s += " " + std::to_string(sport) + "->" + std::to_string(dport);
  }
  return s;
}

Result<Message> parse_message(std::span<const uint8_t> bytes) {
  auto h = Bytes(bytes).read<nlmsghdr>();
  if (!h) return truncated("netlink header", bytes.size(), sizeof(nlmsghdr));
  if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > bytes.size())
    return Error("bad netlink message length " + std::to_string(h->nlmsg_len) + " (have " +
                 std::to_string(bytes.size()) + " bytes)");
  Message m;
  m.type = h->nlmsg_type;
  m.flags = h->nlmsg_flags;
  m.seq = h->nlmsg_seq;
  auto payload = bytes.subspan(NLMSG_HDRLEN, h->nlmsg_len - NLMSG_HDRLEN);
  auto body = parse_body(m.type, payload);
  if (!body) return std::move(body).error().wrap("netlink message type " + std::to_string(m.type));
  m.body = std::move(*body);
  return m;
}

Status for_each_message(std::span<const uint8_t> datagram, const std::function<void(Result<Message>)>& fn) {
  std::size_t off = 0;
  while (off < datagram.size()) {
    auto rest = datagram.subspan(off);
    auto h = Bytes(rest).read<nlmsghdr>();
    if (!h) return truncated("netlink header", rest.size(), sizeof(nlmsghdr));
    if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > rest.size())
      return Error("bad netlink message length " + std::to_string(h->nlmsg_len) + " at offset " + std::to_string(off));
    fn(parse_message(rest.first(h->nlmsg_len)));
    off += NLMSG_ALIGN(h->nlmsg_len);
  }
  return ok();
}

}  // namespace ist::xfrm
