#pragma once
// The axis of a capacity search: --from, --to and --resolution as the user wrote them, in the
// varied key's own units, read with the scenario layer's unit readers. Values are held in
// base units (a count, milliseconds, events per second) and written back the way a scenario
// writes them, so each trial's value goes through --set and the validator like any other.
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"

namespace ist::search {

enum class Unit {
  number,    // bare numbers ("300", "0.5"); whole when --from, --to and --resolution are
  duration,  // "250ms", "30s", "5m", "8h" (base: milliseconds; a bare number is seconds)
  rate,      // "200/s", "30/m" (base: per second; a bare number is per second)
};

std::string_view unit_name(Unit u);  // "number" | "duration" | "rate"

struct Axis {
  Unit unit = Unit::number;
  bool whole = true;       // values stay whole numbers (counts, milliseconds)
  double from = 0, to = 0, resolution = 1;  // base units
};

// Reads the three texts. The unit follows what is written: a '/' makes a rate, a time
// suffix a duration, else a number; a bare number beside a duration or rate is read by that
// unit's reader (seconds, per second). resolution "" = 1 of the unit (1, 1s, 1/s).
// Errors name the flag: "--to '5x': unknown unit 'x' (use ms, s, m or h)", "--from 500 is
// not below --to 100".
Result<Axis> read_axis(std::string_view from, std::string_view to, std::string_view resolution);

// A base-unit value as a scenario writes it: 300, "5m", "1500ms", "200/s", "30/m".
std::string format_value(const Axis& axis, double value);

}  // namespace ist::search
