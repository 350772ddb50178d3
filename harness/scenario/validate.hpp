#pragma once
// Turns a scenario document (after --set and with one sweep point applied) into a typed
// Scenario, collecting every problem with its origin. The `sweep` key is accepted here but
// read by the loader (scenario/load.hpp), which expands it before validation.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "scenario/diagnostics.hpp"
#include "scenario/doc.hpp"
#include "scenario/model.hpp"

namespace ist::scenario {

// What the host ikestorm runs on says about a target (netns/target_host_check.hpp through
// run/target_host.hpp): one sentence per problem. The scenario library reads no rtnetlink
// itself; `validate` and `run` pass the same check, so validate refuses what run refuses.
using TargetHostCheckFn = std::function<std::vector<std::string>(const Target&)>;

struct ValidateContext {
  std::filesystem::path base_dir;  // sut.config paths are relative to this
  std::string default_name;        // name when the document has none
  std::vector<std::string> known_codes;  // codes.NAME in expect must be one (empty: any name)
  TargetHostCheckFn target_host_check;   // unset: the host is not consulted
};

// nullopt when any problem was found (all of them are in diag).
std::optional<Scenario> validate(const Node& doc, const ValidateContext& ctx, Diagnostics& diag);

// The keys strongswan.conf settings under sut.charon / peers.charon may not set: the harness
// writes them itself. A key is refused when it equals one of these or lies below it.
const std::vector<std::string>& harness_owned_charon_keys();

}  // namespace ist::scenario
