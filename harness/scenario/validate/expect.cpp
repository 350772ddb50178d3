// expect: PATH: "OP NUMBER" conditions on a run's summary.
#include "scenario/validate/reader.hpp"

#include "scenario/expect.hpp"

namespace ist::scenario::validation {

void Validator::read_expect(const Node* n, Scenario& s) {
  if (n == nullptr || n->is_null()) {
    s.expect = {implied_expectation()};
    s.expect_implied = true;
    return;
  }
  if (!n->is_map()) return bad(*n, "expect", "a map of PATH: \"OP NUMBER\"");
  for (const auto& e : n->entries) {
    if (auto why = check_expect_path(e.key, ctx_.known_codes)) {
      diag_.add(e.key_origin, "expect: " + *why);
      continue;
    }
    const std::string path = "expect." + e.key;
    const std::string what = "a condition like \">= 0.99\"";
    if (!need_scalar(e.value, path, what)) continue;
    auto c = parse_condition(e.value.scalar);
    if (auto* why = std::get_if<std::string>(&c)) {
      bad(e.value, path, what, *why);
      continue;
    }
    const auto& pc = std::get<ParsedCondition>(c);
    s.expect.push_back(Expectation{e.key, pc.op, pc.threshold, pc.threshold_text, e.key_origin});
  }
}

// An expectation must be able to fail: one on a figure this run never observes would judge
// the 0 it reads. With target: the gateway is not the harness's process (no CPU or memory
// of it is read), and without target.vici none of its own counters are.
void Validator::check_expect_observable(const Scenario& s) {
  // Reported only where they apply: the first packet needs traffic, DoS resilience a flood.
  for (const Expectation& e : s.expect) {
    if (!s.traffic && e.path.rfind("time_to_first_packet_ms.", 0) == 0)
      diag_.add(e.origin, "expect: " + e.path + " needs traffic: (the time to first packet is measured on the data "
                          "plane's probes; without traffic it is never reported)");
    else if (s.peers.flood.empty() && e.path.rfind("dos_resilience.", 0) == 0)
      diag_.add(e.origin, "expect: " + e.path + " needs peers.flood (DoS resilience compares the setups during a "
                          "flood with those before it; without one it is never reported)");
  }
  if (!s.target) return;
  for (const Expectation& e : s.expect) {
    if (e.path == "cpu_s.sut" || e.path == "rss_mb.sut")
      diag_.add(e.origin, "expect: " + e.path + " is not observed with target: (the gateway runs on its own box, "
                          "not as the harness's process); gate on the gateway's own monitoring instead");
    else if (!s.target->vici_host && e.path.rfind("sut_peak.", 0) == 0)
      diag_.add(e.origin, "expect: " + e.path + " needs target.vici (without it the gateway's own counters are "
                          "not read and the value would always be 0)");
  }
}

}  // namespace ist::scenario::validation
