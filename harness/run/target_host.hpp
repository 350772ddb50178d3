#pragma once
// A scenario's target: as the netns library takes it, and the host checks run on it (see
// netns/target_host_check.hpp). `ikestorm validate` and `ikestorm run` both pass
// target_host_problems to the scenario loader, so both refuse the same targets, with
// file:line:col at `target:`, before anything is created.
#include <string>
#include <vector>

#include "common/result.hpp"
#include "netns/target_host_check.hpp"
#include "netns/topology.hpp"
#include "scenario/model.hpp"

namespace ist::run {

// The validated strings as addresses (via unset: check_target_host finds it).
Result<netns::TargetNetwork> target_network(const scenario::Target& target);
// The host checks of this namespace for `target`, one sentence per problem.
std::vector<std::string> target_host_problems(const scenario::Target& target);

}  // namespace ist::run
