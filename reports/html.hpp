#pragma once
// report.html: one self-contained page (inline script, style, data and the vendored uPlot)
// rendered from the report model alone.
#include <string>

#include "reports/code_info.hpp"
#include "reports/report.hpp"

namespace ist::reports {

// The whole page. Every string from the report is HTML-escaped; the chart data is inline
// JSON with '<', '>', '&', U+2028 and U+2029 escaped.
std::string render_html(const Report& report, const CodeLookup& lookup = {});

// A run's label for people: "run-2 (peers.child.rekey_time=5m)" or "run-1".
std::string run_label(const RunReport& run);
// "k=v, k2=v2" from a run's parameters (strings unquoted), "" when there are none.
std::string parameters_text(const nlohmann::json& parameters);

}  // namespace ist::reports
