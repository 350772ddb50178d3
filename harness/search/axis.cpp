#include "search/axis.hpp"

#include <cmath>
#include <cstdio>

#include "scenario/units.hpp"

namespace ist::search {
namespace {

bool is_rate_text(std::string_view t) { return t.find('/') != std::string_view::npos; }

bool is_duration_text(std::string_view t) {
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  return !t.empty() && (t.back() == 's' || t.back() == 'm' || t.back() == 'h');
}

// One text read with the unit's own reader, in base units.
Result<double> read_one(Unit unit, std::string_view flag, std::string_view text) {
  auto fail = [&](const std::string& why) {
    return Error(std::string(flag) + " '" + std::string(text) + "': " + why);
  };
  switch (unit) {
    case Unit::duration: {
      auto p = scenario::parse_duration(text);
      if (auto* why = std::get_if<std::string>(&p)) return fail(*why);
      return static_cast<double>(std::get<std::chrono::milliseconds>(p).count());
    }
    case Unit::rate: {
      auto p = scenario::parse_rate(text);
      if (auto* why = std::get_if<std::string>(&p)) return fail(*why);
      return std::get<double>(p);
    }
    case Unit::number: {
      auto p = scenario::parse_number(text);
      if (auto* why = std::get_if<std::string>(&p))
        return fail(*why + " (write a number, a duration like 5m or a rate like 200/s)");
      const double v = std::get<double>(p);
      if (v < 0) return fail("must not be negative");
      return v;
    }
  }
  return fail("unknown unit");
}

}  // namespace

std::string_view unit_name(Unit u) {
  switch (u) {
    case Unit::number: return "number";
    case Unit::duration: return "duration";
    case Unit::rate: return "rate";
  }
  return "number";
}

Result<Axis> read_axis(std::string_view from, std::string_view to, std::string_view resolution) {
  Axis a;
  const std::string_view texts[] = {from, to, resolution};
  bool rate = false, duration = false;
  for (auto t : texts) {
    rate = rate || is_rate_text(t);
    duration = duration || (!is_rate_text(t) && is_duration_text(t));
  }
  if (rate && duration)
    return Error("--from, --to and --resolution mix a rate and a duration; write all three in the key's own unit");
  a.unit = rate ? Unit::rate : duration ? Unit::duration : Unit::number;

  auto f = read_one(a.unit, "--from", from);
  if (!f) return std::move(f).error();
  auto t = read_one(a.unit, "--to", to);
  if (!t) return std::move(t).error();
  a.from = *f;
  a.to = *t;
  if (resolution.empty()) {
    a.resolution = a.unit == Unit::duration ? 1000.0 : 1.0;
  } else {
    auto r = read_one(a.unit, "--resolution", resolution);
    if (!r) return std::move(r).error();
    a.resolution = *r;
  }
  if (!(a.from < a.to))
    return Error("--from " + std::string(from) + " is not below --to " + std::string(to) +
                 " (the search looks for the highest passing value between them)");
  if (!(a.resolution > 0)) return Error("--resolution must be above 0");
  // Durations are whole milliseconds; a number axis stays whole when all three are.
  a.whole = a.unit == Unit::duration ||
            (a.unit == Unit::number && a.from == std::floor(a.from) && a.to == std::floor(a.to) &&
             a.resolution == std::floor(a.resolution));
  if (a.unit == Unit::duration && a.resolution < 1) return Error("--resolution must be at least 1ms");
  return a;
}

std::string format_value(const Axis& axis, double value) {
  switch (axis.unit) {
    case Unit::duration:
      return scenario::format_duration(std::chrono::milliseconds(std::llround(value)));
    case Unit::rate: return scenario::format_rate(value);
    case Unit::number: break;
  }
  char buf[64];
  if (axis.whole) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(std::llround(value)));
  } else {
    std::snprintf(buf, sizeof buf, "%.10g", value);
  }
  return buf;
}

}  // namespace ist::search
