#pragma once
// How the observer gets into a network namespace: a function that runs its argument on a
// thread inside it. netns::Namespace::run_in is one (runs); named_netns_runner() joins a
// namespace by its /run/netns name (the CLI's --netns); current_netns_runner() stays put.
// Sockets and /proc/net files opened inside keep talking to that namespace afterwards.
#include <functional>
#include <string>

#include "common/result.hpp"

namespace ist::xfrm {

using NetnsRunner = std::function<Status(const std::function<Status()>&)>;

// Errors from the returned runner: no such namespace ("no network namespace NAME"), setns.
NetnsRunner named_netns_runner(std::string name);
NetnsRunner current_netns_runner();

}  // namespace ist::xfrm
