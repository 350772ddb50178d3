#pragma once
// Building namespaces needs CAP_NET_ADMIN (links, addresses, qdiscs, nftables) and
// CAP_SYS_ADMIN (setns, the bind mounts under /run/netns). Checked up front so the user gets
// one clear sentence instead of a string of EPERMs.
#include <cstdint>
#include <string_view>

#include "common/result.hpp"

namespace ist::netns {

// The CapEff mask from a /proc/<pid>/status text; nullopt-like 0 when the line is missing.
std::uint64_t effective_caps_from_status(std::string_view status_text);
// OK when `caps` holds both capabilities, else the one-sentence error.
Status check_caps(std::uint64_t caps);
// check_caps() for this process.
Status check_privileges();

}  // namespace ist::netns
