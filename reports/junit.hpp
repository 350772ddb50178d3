#pragma once
// junit.xml: one <testsuite> per run; in it one <testcase> per expectation (a failed
// expectation is a <failure> carrying observed vs expected), a "leaks" testcase (failure
// when the run left resources behind) and a "harness" testcase (<error> when the run was
// interrupted or hit a harness fault, <failure> when the SUT died).
#include <string>

#include "reports/report.hpp"

namespace ist::reports {

std::string render_junit(const Report& report);

// classname of a run's testcases: "<scenario name>.<folder>[k=v, ...]".
std::string junit_classname(const Report& report, const RunReport& run);

}  // namespace ist::reports
