#include "run/target_host.hpp"

namespace ist::run {

Result<netns::TargetNetwork> target_network(const scenario::Target& t) {
  netns::TargetNetwork n;
  n.interface = t.interface;
  IST_TRY_ASSIGN(n.address, netns::IpAddress::parse(t.address));
  IST_TRY_ASSIGN(n.local, netns::IpPrefix::parse(t.local));
  IST_TRY_ASSIGN(n.peers, netns::IpPrefix::parse(t.peers));
  if (t.inner) {
    IST_TRY_ASSIGN(auto inner, netns::IpPrefix::parse(*t.inner));
    n.inner = inner;
  }
  return n;
}

std::vector<std::string> target_host_problems(const scenario::Target& t) {
  auto n = target_network(t);
  if (!n) return {"target: " + n.error().describe()};
  return netns::check_target_host(*n).problems;
}

}  // namespace ist::run
