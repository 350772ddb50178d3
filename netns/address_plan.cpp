#include "netns/address_plan.hpp"

namespace ist::netns {

namespace {
IpPrefix pfx(const char* text) { return IpPrefix::parse(text).value(); }
IpAddress addr(const char* text) { return IpAddress::parse(text).value(); }
}  // namespace

IpPrefix AddressPlan::sut_link(Family f) { return f == Family::v4 ? pfx("198.18.0.1/30") : pfx("2001:2::1/64"); }
IpPrefix AddressPlan::peers_link(Family f) { return f == Family::v4 ? pfx("198.18.0.2/30") : pfx("2001:2::2/64"); }
IpPrefix AddressPlan::sut_subnet(Family f) {
  return f == Family::v4 ? pfx("198.18.255.0/24") : pfx("2001:2:0:ff::/64");
}
IpAddress AddressPlan::sut_subnet_address(Family f) {
  return f == Family::v4 ? addr("198.18.255.1") : addr("2001:2:0:ff::1");
}
IpPrefix AddressPlan::peer_ike_range(Family f) {
  return f == Family::v4 ? pfx("198.19.0.0/17") : pfx("2001:2:0:2::/64");
}
IpPrefix AddressPlan::peer_inner_range(Family f) {
  return f == Family::v4 ? pfx("198.19.128.0/17") : pfx("2001:2:0:3::/64");
}
IpAddress AddressPlan::peer_ike_address(std::size_t i, Family f) {
  return peer_ike_range(f).address.plus(1 + i);
}
IpAddress AddressPlan::peer_inner_address(std::size_t i, Family f) {
  return peer_inner_range(f).address.plus(1 + i);
}
IpPrefix AddressPlan::sut_side_route(Family f) {
  return f == Family::v4 ? pfx("198.18.0.0/16") : pfx("2001:2:0:80::/57");
}
IpPrefix AddressPlan::peers_side_route(Family f) {
  return f == Family::v4 ? pfx("198.19.0.0/16") : pfx("2001:2:0:2::/63");
}

}  // namespace ist::netns
