// sweep: the axes, each a well-formed path (not sweep or expect) with 1-100 values, and at
// most kMaxSweepPoints points in their product.
#include "scenario/validate/sweep.hpp"

#include "scenario/load.hpp"
#include "scenario/paths.hpp"

namespace ist::scenario::validation {

std::vector<Axis> read_sweep(const Node& root, Diagnostics& diag) {
  std::vector<Axis> axes;
  const Node* sw = root.is_map() ? root.find("sweep") : nullptr;
  if (sw == nullptr) return axes;
  if (sw->is_null() || (sw->is_map() && sw->entries.empty())) {
    diag.add(sw->origin, "sweep: empty; give at least one axis, e.g. peers.child.rekey_time: [30m, 5m]");
    return axes;
  }
  if (!sw->is_map()) {
    diag.add(sw->origin, "sweep: expected a map of PATH: [values], got " +
                             std::string(sw->is_sequence() ? "a list" : "'" + sw->text() + "'"));
    return axes;
  }
  std::size_t points = 1;
  for (const auto& e : sw->entries) {
    const std::string where = "sweep." + e.key;
    if (auto why = check_path(e.key)) {
      diag.add(e.key_origin, where + ": not a dotted path: " + *why);
      continue;
    }
    const std::string first = e.key.substr(0, e.key.find('.'));
    if (first == "sweep" || first == "expect") {
      diag.add(e.key_origin, where + ": '" + first + "' cannot be swept");
      continue;
    }
    if (!e.value.is_sequence()) {
      diag.add(e.value.origin, where + ": expected a list of values like [30m, 5m], got " +
                                   (e.value.is_null() ? std::string("no value") : "'" + e.value.text() + "'"));
      continue;
    }
    if (e.value.items.empty()) {
      diag.add(e.value.origin, where + ": the list of values is empty");
      continue;
    }
    if (e.value.items.size() > kMaxSweepValues) {
      diag.add(e.value.origin, where + ": more than " + std::to_string(kMaxSweepValues) + " values");
      continue;
    }
    points *= e.value.items.size();
    if (points > kMaxSweepPoints) {
      diag.add(e.key_origin, "sweep: the axes multiply to more than " +
                                 std::to_string(kMaxSweepPoints) + " runs");
      return {};
    }
    axes.push_back(Axis{e.key, e.key_origin, e.value.items});
  }
  return axes;
}

}  // namespace ist::scenario::validation
