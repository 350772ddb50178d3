#pragma once
// --fail-on thresholds of `ikestorm compare`, the nightly gate.
//
// Grammar:   METRIC OP CHANGE        (spaces optional)
//   METRIC   a summary path of report.json (setup_rate_per_s, setup_latency_ms.p99,
//            rekeys.child, cpu_s.sut, ...), codes.NAME / informational.NAME (peers with that
//            code) or codes.NAME.attempts
//   OP       <  <=  >  >=  ==  !=
//   CHANGE   a signed number, optionally followed by %:
//              N%  relative change of B against A, in percent: 100 * (B - A) / |A|
//                  (A == 0: 0% when B == 0, otherwise +/-infinity)
//              N   absolute change B - A in the metric's unit
// It trips when the comparison holds for any pair of runs, e.g.
//   setup_rate_per_s < -10%                 setup rate fell by more than 10%
//   setup_latency_ms.p99 > +20%             p99 latency grew by more than 20%
//   codes.ERROR_IPSEC_IKE_MM_LIMIT > 0      more peers refused with MM_LIMIT than before
// Significance is not part of the gate: a threshold is a decision the user already made.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "reports/compare.hpp"

namespace ist::reports {

struct FailOn {
  std::string text;    // as given
  std::string metric;
  std::string op;
  double change = 0;
  bool percent = false;
};

Result<FailOn> parse_fail_on(std::string_view text);

struct FailOnOutcome {
  bool tripped = false;
  std::vector<std::string> reasons;  // one line per pair that tripped
};

FailOnOutcome evaluate_fail_on(const FailOn& rule, const Comparison& comparison);

}  // namespace ist::reports
