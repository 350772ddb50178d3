#pragma once
// The scenario's typed peers.impair[] / peers.flood[] (scenario/model.hpp, checked by the
// validator) as the native engine's own rules. Every scenario value has one engine value, so
// the mapping cannot fail: a rule the engine could not take was refused with its file:line:col
// before anything started.
#include "fleet/native/flood.hpp"
#include "fleet/native/impair.hpp"
#include "scenario/model.hpp"

namespace ist::run {

native::ImpairRule native_impair_rule(const scenario::Impairment& m);
native::FloodSpec native_flood_spec(const scenario::Flood& f);

}  // namespace ist::run
