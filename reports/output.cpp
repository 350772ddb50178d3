#include "reports/output.hpp"

#include <filesystem>

#include "reports/html.hpp"
#include "reports/junit.hpp"

namespace ist::reports {

namespace fs = std::filesystem;

Status write_rendered(const Report& report, const std::string& dir, const CodeLookup& lookup) {
  IST_TRY(write_file_atomic(dir + "/" + kReportHtml, render_html(report, lookup)));
  IST_TRY(write_file_atomic(dir + "/" + kJunitXml, render_junit(report)));
  return ok();
}

Status write_all(const Report& report, const std::string& dir, const CodeLookup& lookup) {
  IST_TRY(write_json(report, dir + "/" + kReportJson));
  return write_rendered(report, dir, lookup);
}

Result<LoadedReport> load_report(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return Error(path + ": no such file or folder");
  LoadedReport out;
  if (!fs::is_directory(path, ec)) {
    IST_TRY_ASSIGN(out.report, read_json(path));
    out.dir = fs::path(path).parent_path().string();
    if (out.dir.empty()) out.dir = ".";
    return out;
  }
  const fs::path dir(path);
  if (fs::exists(dir / kReportJson, ec)) {
    IST_TRY_ASSIGN(out.report, read_json((dir / kReportJson).string()));
    out.dir = dir.string();
    return out;
  }
  // One run's folder: its parent holds the report; keep just this run.
  fs::path canonical = fs::weakly_canonical(dir, ec);
  const fs::path parent = canonical.parent_path();
  const std::string folder = canonical.filename().string();
  if (!fs::exists(parent / kReportJson, ec))
    return Error(path + ": neither a report.json file nor a folder holding one");
  IST_TRY_ASSIGN(out.report, read_json((parent / kReportJson).string()));
  std::vector<RunReport> kept;
  for (auto& r : out.report.runs)
    if (r.folder == folder) kept.push_back(std::move(r));
  if (kept.empty()) return Error(path + ": " + (parent / kReportJson).string() + " has no run in folder '" + folder + "'");
  out.report.runs = std::move(kept);
  out.dir = parent.string();
  return out;
}

}  // namespace ist::reports
