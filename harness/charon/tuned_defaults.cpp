#include "charon/tuned_defaults.hpp"

#include "charon/settings.hpp"

namespace ist::charon {

namespace {
constexpr TunedDefault kDefaults[] = {
    {"ikesa_table_size", "4096", true, true,
     "charon's default is 1 bucket: every lookup walks all IKE_SAs; with thousands of SAs "
     "that dominated CPU"},
    {"ikesa_table_segments", "16", true, true,
     "default 1 lock for the whole table serializes all worker threads"},
    {"reuse_ikesa", "no", true, true,
     "with reuse on, every initiate walks the whole IKE_SA table for an SA of the same config "
     "to reuse (O(N) per peer, O(N^2) per connect phase); each peer has its own config, so "
     "nothing would ever be reused"},
    {"threads", "32", true, true,
     "default 16; vici requests, kernel events and IKE work share the pool and bursts of "
     "thousands of SAs starve it"},
    {"install_routes", "no", true, false,
     "with routes on, each route lookup (several per CHILD_SA) dumps the whole routing table, "
     "which holds one route per CHILD_SA: O(SAs) per setup. 20,000 native peers at 300/s on "
     "libipsec: 14,254 up with it, 17,530 without; kernel-libipsec still routes its TUN, and "
     "the data-plane sink answers from its bound protected address. Not on the peers: the "
     "charon fleet at 5,000 peers measured the same either way (333/466 setups/s with, 594/318 "
     "without)"},
    {"cookie_threshold", "0", true, false,
     "0 disables cookies; the default 10 half-open SAs flips them on and off under bursts, "
     "adding a round trip and distorting throughput; a DoS-protection scenario sets it"},
    {"plugins.kernel-netlink.roam_events", "no", true, true,
     "thousands of peer addresses appear as netlink events; without MOBIKE the roam jobs "
     "they trigger are pure overhead"},
};
}  // namespace

std::span<const TunedDefault> tuned_defaults() { return kDefaults; }

bool applies_to(const TunedDefault& d, Role role) {
  return role == Role::sut ? d.sut : d.initiator;
}

}  // namespace ist::charon
