#pragma once
// Writing a report folder and finding a report from what a user types.
#include <string>

#include "common/file_write.hpp"  // write_file_atomic, used by the renderers
#include "common/result.hpp"
#include "reports/code_info.hpp"
#include "reports/report.hpp"

namespace ist::reports {

inline constexpr const char* kReportJson = "report.json";
inline constexpr const char* kReportHtml = "report.html";
inline constexpr const char* kJunitXml = "junit.xml";

// DIR/report.json, DIR/report.html and DIR/junit.xml. `lookup` gives the documented text of
// each Windows code for the HTML page (pass the taxonomy's table; empty = no text).
Status write_all(const Report& report, const std::string& dir, const CodeLookup& lookup = {});

// DIR/report.html and DIR/junit.xml only (re-rendering from an existing report.json).
Status write_rendered(const Report& report, const std::string& dir, const CodeLookup& lookup = {});

struct LoadedReport {
  Report report;
  std::string dir;  // folder holding report.json (run folders are relative to it)
};

// `path` is a report.json file, a report folder (holding report.json), or one run's folder
// inside a report folder (DIR/run-3): then only that run is kept.
Result<LoadedReport> load_report(const std::string& path);

}  // namespace ist::reports
