// Fuzzes the whole scenario path on untrusted text: YAML parsing, validation, --set
// overrides, sweep expansion, time_scale arithmetic and expectation evaluation. Any input
// must end in either a loaded scenario or diagnostics, never a crash, hang or exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "scenario/effective.hpp"
#include "scenario/load.hpp"

namespace sc = ist::scenario;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first line doubles as a --set argument so the override path is fuzzed too.
  std::vector<sc::Override> overrides;
  const auto eol = text.find('\n');
  if (auto ov = sc::parse_set(text.substr(0, eol == std::string_view::npos ? text.size() : eol)); ov.ok()) {
    overrides.push_back(*ov);
  }
  for (const auto& ovs : {std::vector<sc::Override>{}, overrides}) {
    auto out = sc::load_text(text, sc::LoadOptions{"fuzz.yaml", "/nonexistent", "fuzz", ovs});
    (void)out.diagnostics.str();
    (void)out.diagnostics.to_json().dump();
    if (!out.ok()) continue;
    (void)out.loaded->document.dump();
    const auto run = nlohmann::json::parse(
        R"({"summary": {"established_ratio": 1, "setup_latency_ms": {"p99": 5}}, "codes": {}})");
    for (const auto& p : out.loaded->points) {
      const auto e = sc::effective(p.scenario);
      (void)e.to_json(p.scenario).dump();
      (void)p.document.dump();
      (void)sc::evaluate(p.scenario.expect, run);
    }
    if (ovs.empty() && overrides.empty()) break;
  }
  return 0;
}
