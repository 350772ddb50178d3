#include "scenario/validate.hpp"

// The scenario, section by section: each section's reader is in scenario/validate/<section>.cpp
// (peers, impair, sut, link, phases, traffic, expect), the values they share in values.cpp,
// sa.cpp and charon.cpp, and the checks across sections in engine.cpp. `sweep` (validate/sweep.cpp)
// is read by the loader (load.cpp), which expands it before each point comes here.
#include "scenario/validate/reader.hpp"

namespace ist::scenario {
namespace validation {

std::optional<Scenario> Validator::run(const Node& doc) {
  if (!doc.is_map()) {
    if (!doc.is_null() || diag_.empty()) {
      diag_.add(doc.origin, "a scenario is a YAML map with keys such as name, peers, phases; " +
                                got(doc));
    }
    return std::nullopt;
  }
  Scenario s;
  s.name = ctx_.default_name.empty() ? "scenario" : ctx_.default_name;
  {
    MapReader top(&doc, "", diag_);
    read_name(top.get("name"), s.name);
    if (auto* n = top.get("description")) read_string(*n, "description", s.description, true);
    read_enum(top.get("backend"), "backend",
              std::array{std::pair{"auto", Backend::auto_select}, std::pair{"xfrm", Backend::xfrm},
                         std::pair{"libipsec", Backend::libipsec}, std::pair{"vm", Backend::vm}},
              s.backend);
    read_number(top.get("time_scale"), "time_scale", 1, 3600, s.time_scale);
    read_count(top.get("seed"), "seed", 0, UINT64_MAX, s.seed);
    read_peers(top.get("peers"), s.peers);
    read_target(top.get("target"), s);
    read_sut(top.get("sut"), s.sut);
    read_link(top.get("link"), s.link);
    read_phases(top.get("phases"), s.phases);
    top.allow("sweep");
    read_expect(top.get("expect"), s);
    read_traffic(top.get("traffic"), s);
    check_gateway_config(top.get("peers"), s);
  }
  check_engine_limits(doc, s);
  check_family(doc, s);
  check_target(doc, s);  // also sets a target's default arrival
  check_expect_observable(s);
  if (!diag_.empty()) return std::nullopt;
  return s;
}

}  // namespace validation

std::optional<Scenario> validate(const Node& doc, const ValidateContext& ctx, Diagnostics& diag) {
  // Problems of this document alone decide its validity; `diag` may hold (and deduplicate)
  // the same problem from another sweep point.
  Diagnostics own;
  validation::Validator v(ctx, own);
  auto s = v.run(doc);
  diag.merge(own);
  return own.empty() ? s : std::nullopt;
}

}  // namespace ist::scenario
