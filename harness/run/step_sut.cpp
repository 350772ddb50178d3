#include "run/point_steps.hpp"

namespace ist::run {

// The SUT kinds, by the scenario's target and PointContext::backend. A new kind is its own
// file (a SutPart) and one line here.
std::unique_ptr<SutPart> sut_part_for(const scenario::Scenario& s, const std::string& backend) {
  if (s.target) return target_sut_part();
  if (backend == "vm") return vm_sut_part();
  return netns_charon_sut_part();  // "libipsec", "xfrm"
}

}  // namespace ist::run
