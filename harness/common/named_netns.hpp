#pragma once
// Named network namespaces as `ip netns` keeps them: a bind mount of the namespace file on
// /run/netns/<name>. Shared by the netns library (which creates them) and `clean` (which
// must remove them without anything else of the harness).
#include <string>
#include <vector>

#include "common/result.hpp"

namespace ist {

std::string named_netns_path(const std::string& name);  // /run/netns/<name>
bool named_netns_exists(const std::string& name);
std::vector<std::string> list_named_netns();             // every name in /run/netns
// Detaches the bind mount and removes the file. Processes still inside keep the namespace
// alive until they exit, so stop them first. Removing an absent namespace is not an error.
Status remove_named_netns(const std::string& name);

}  // namespace ist
