#pragma once
// What time_scale makes of a scenario: the lifetimes that reach charon (whole seconds) and the
// phase durations the orchestrator waits (milliseconds of wall clock).
//
// Lifetimes: each written duration is divided by time_scale and rounded to the nearest second,
// at least 1 s (0 stays 0 = off). Where life_time is not given it is rekey + over_time when
// over_time is given, else 1.1 x rekey rounded up (computed on the effective seconds); it is
// always at least rekey + 1 s. over_time = life - rekey; rand_time is capped at over_time.
// For IKE, "rekey" above is the longer of rekey_time and reauth_time.
#include <chrono>
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/model.hpp"

namespace ist::scenario {

struct EffectiveSa {
  std::int64_t rekey_s = 0;   // 0 = never
  std::int64_t reauth_s = 0;  // IKE only; 0 = never
  std::int64_t life_s = 0;    // CHILD life_time / IKE rekey + over_time; 0 = no hard expiry
  std::int64_t over_s = 0;
  std::int64_t rand_s = 0;
  nlohmann::json to_json() const;
  bool operator==(const EffectiveSa&) const = default;
};

struct Effective {
  double time_scale = 1;
  EffectiveSa peers_ike, peers_child, sut_ike, sut_child;
  std::vector<std::chrono::milliseconds> phase_durations;  // per phase (0 for connect,
                                                           // storm, teardown)
  // { time_scale, peers: {ike, child}, sut: {ike, child}, phases: [{kind, duration_ms}] }
  nlohmann::json to_json(const Scenario& s) const;
};

EffectiveSa effective_sa(const SaSettings& sa, double time_scale);
// A scenario-time duration as wall clock: divided by time_scale, rounded to the nearest ms,
// at least 1 ms when the input is not 0.
std::chrono::milliseconds scaled(std::chrono::milliseconds scenario_time, double time_scale);
Effective effective(const Scenario& s);

}  // namespace ist::scenario
