#pragma once
// The files a report page inlines, embedded at build time (see reports/CMakeLists.txt).
#include <string_view>

namespace ist::reports::assets {
extern const std::string_view kUplotJs;       // reports/vendor/uplot/uPlot.iife.min.js
extern const std::string_view kUplotCss;      // reports/vendor/uplot/uPlot.min.css
extern const std::string_view kUplotLicense;  // reports/vendor/uplot/LICENSE
extern const std::string_view kPageJs;        // reports/page/report.js
extern const std::string_view kPageCss;       // reports/page/report.css
}  // namespace ist::reports::assets
