#include "scenario/effective.hpp"

#include <algorithm>
#include <cmath>

namespace ist::scenario {
namespace {

// Whole seconds of wall clock for a lifetime: nearest, at least 1; 0 stays 0.
std::int64_t lifetime_seconds(std::chrono::milliseconds d, double time_scale) {
  if (d.count() <= 0) return 0;
  const auto s = std::llround(static_cast<double>(d.count()) / 1000.0 / time_scale);
  return std::max<std::int64_t>(1, s);
}

}  // namespace

nlohmann::json EffectiveSa::to_json() const {
  return {{"rekey_time_s", rekey_s}, {"reauth_time_s", reauth_s}, {"life_time_s", life_s},
          {"over_time_s", over_s}, {"rand_time_s", rand_s}};
}

EffectiveSa effective_sa(const SaSettings& sa, double time_scale) {
  EffectiveSa e;
  e.rekey_s = lifetime_seconds(sa.rekey_time, time_scale);
  e.reauth_s = lifetime_seconds(sa.reauth_time, time_scale);
  const std::int64_t base = std::max(e.rekey_s, e.reauth_s);
  if (sa.life_time) {
    e.life_s = lifetime_seconds(*sa.life_time, time_scale);
  } else if (sa.over_time) {
    e.life_s = base + lifetime_seconds(*sa.over_time, time_scale);
  } else {
    e.life_s = base + (base + 9) / 10;  // 1.1 x base, rounded up, in integers
  }
  if (base > 0) e.life_s = std::max(e.life_s, base + 1);
  e.over_s = e.life_s > base ? e.life_s - base : 0;
  e.rand_s = std::min(lifetime_seconds(sa.rand_time, time_scale), e.over_s);
  return e;
}

std::chrono::milliseconds scaled(std::chrono::milliseconds scenario_time, double time_scale) {
  if (scenario_time.count() <= 0) return std::chrono::milliseconds(0);
  const auto ms = std::llround(static_cast<double>(scenario_time.count()) / time_scale);
  return std::chrono::milliseconds(std::max<long long>(1, ms));
}

Effective effective(const Scenario& s) {
  Effective e;
  e.time_scale = s.time_scale;
  e.peers_ike = effective_sa(s.peers.ike, s.time_scale);
  e.peers_child = effective_sa(s.peers.child, s.time_scale);
  e.sut_ike = effective_sa(s.sut.ike, s.time_scale);
  e.sut_child = effective_sa(s.sut.child, s.time_scale);
  for (const auto& ph : s.phases) {
    const bool timed = ph.kind == Phase::Kind::hold || ph.kind == Phase::Kind::churn;
    e.phase_durations.push_back(timed ? scaled(ph.duration, s.time_scale)
                                      : std::chrono::milliseconds(0));
  }
  return e;
}

nlohmann::json Effective::to_json(const Scenario& s) const {
  nlohmann::json phases = nlohmann::json::array();
  for (std::size_t i = 0; i < s.phases.size() && i < phase_durations.size(); ++i) {
    phases.push_back({{"kind", to_string(s.phases[i].kind)},
                      {"duration_ms", phase_durations[i].count()},
                      {"scenario_duration_ms", s.phases[i].duration.count()}});
  }
  nlohmann::json ike = peers_ike.to_json(), child = peers_child.to_json();
  nlohmann::json sike = sut_ike.to_json(), schild = sut_child.to_json();
  // The effective IKE settings carry no life_time key in swanctl: it is rekey + over_time.
  return {{"time_scale", time_scale},
          {"peers", {{"ike", ike}, {"child", child}}},
          {"sut", {{"ike", sike}, {"child", schild}}},
          {"phases", phases}};
}

}  // namespace ist::scenario
