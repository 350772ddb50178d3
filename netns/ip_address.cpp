#include "netns/ip_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace ist::netns {

Result<IpAddress> IpAddress::parse(std::string_view text) {
  std::string s(text);
  IpAddress a;
  if (::inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.family = AF_INET6;
    return a;
  }
  return Error("'" + s + "' is not an IPv4 or IPv6 address");
}

IpAddress IpAddress::v4(std::uint32_t host_order) {
  IpAddress a;
  a.family = AF_INET;
  std::uint32_t n = htonl(host_order);
  std::memcpy(a.bytes.data(), &n, 4);
  return a;
}

std::uint32_t IpAddress::v4_host_order() const {
  std::uint32_t n = 0;
  std::memcpy(&n, bytes.data(), 4);
  return ntohl(n);
}

IpAddress IpAddress::plus(std::uint64_t n) const {
  IpAddress out = *this;
  for (int i = static_cast<int>(size()) - 1; i >= 0 && n != 0; --i) {
    std::uint64_t sum = out.bytes[i] + (n & 0xFF);
    out.bytes[i] = static_cast<std::uint8_t>(sum & 0xFF);
    n = (n >> 8) + (sum >> 8);
  }
  return out;
}

std::string IpAddress::str() const {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(family, bytes.data(), buf, sizeof buf);
  return buf;
}

Result<IpPrefix> IpPrefix::parse(std::string_view text) {
  auto slash = text.find('/');
  IST_TRY_ASSIGN(IpAddress a, IpAddress::parse(text.substr(0, slash)));
  IpPrefix p{a, a.family == AF_INET ? 32 : 128};
  if (slash != std::string_view::npos) {
    std::string len(text.substr(slash + 1));
    char* end = nullptr;
    long v = std::strtol(len.c_str(), &end, 10);
    if (len.empty() || *end != '\0' || v < 0 || v > static_cast<long>(a.size() * 8))
      return Error("'" + std::string(text) + "' has a bad prefix length");
    p.length = static_cast<int>(v);
  }
  return p;
}

bool IpPrefix::contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  int bits = length;
  for (std::size_t i = 0; i < a.size() && bits > 0; ++i, bits -= 8) {
    std::uint8_t mask = bits >= 8 ? 0xFF : static_cast<std::uint8_t>(0xFF << (8 - bits));
    if ((a.bytes[i] & mask) != (address.bytes[i] & mask)) return false;
  }
  return true;
}

IpPrefix IpPrefix::network() const {
  IpPrefix n = *this;
  int bits = length;
  for (std::size_t i = 0; i < address.size(); ++i, bits -= 8) {
    const std::uint8_t mask = bits >= 8 ? 0xFF : bits <= 0 ? 0 : static_cast<std::uint8_t>(0xFF << (8 - bits));
    n.address.bytes[i] &= mask;
  }
  return n;
}

bool IpPrefix::overlaps(const IpPrefix& other) const {
  return contains(other.address) || other.contains(address);
}

std::string IpPrefix::str() const { return address.str() + "/" + std::to_string(length); }

std::uint64_t host_addresses(const IpPrefix& p) {
  const bool v4 = p.address.family == AF_INET;
  const int bits = (v4 ? 32 : 128) - p.length;
  if (bits >= 64) return UINT64_MAX;
  const std::uint64_t all = std::uint64_t{1} << bits;
  if (!v4) return all - 1;
  return bits >= 2 ? all - 2 : all;
}

std::string host_port(const std::string& host, unsigned port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string host_port(const IpAddress& a, unsigned port) { return host_port(a.str(), port); }

socklen_t to_sockaddr(const IpAddress& a, std::uint16_t port, sockaddr_storage& out) {
  out = sockaddr_storage{};
  if (a.family == AF_INET6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&out);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(&s6->sin6_addr, a.bytes.data(), 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(&out);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr, a.bytes.data(), 4);
  return sizeof(sockaddr_in);
}

IpAddress from_sockaddr(const sockaddr_storage& s) {
  IpAddress a;
  a.family = s.ss_family == AF_INET6 ? AF_INET6 : AF_INET;
  if (a.family == AF_INET6)
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in6*>(&s)->sin6_addr, 16);
  else
    std::memcpy(a.bytes.data(), &reinterpret_cast<const sockaddr_in*>(&s)->sin_addr, 4);
  return a;
}

bool is_link_local(const IpAddress& a) {
  static const IpPrefix link_local = IpPrefix::parse("fe80::/10").value();
  return link_local.contains(a);
}

bool in_harness_range(const IpAddress& a) {
  static const IpPrefix v4 = IpPrefix::parse("198.18.0.0/15").value();
  static const IpPrefix v6 = IpPrefix::parse("2001:2::/48").value();
  return v4.contains(a) || v6.contains(a);
}

}  // namespace ist::netns
