#include "common/run_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/child_process.hpp"
#include "common/file_write.hpp"
#include "common/unique_fd.hpp"

namespace fs = std::filesystem;

namespace ist {

std::string state_root() {
  const char* env = std::getenv("IKESTORM_STATE_DIR");
  return env && *env ? env : "/run/ikestorm";
}

std::string new_run_id() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string id;
  auto v = rd();
  for (int i = 0; i < 6; ++i) id += hex[(v >> (4 * i)) & 0xF];
  return id;
}

bool is_valid_run_id(std::string_view id) {
  return id.size() == 6 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string netns_name(std::string_view run_id, std::string_view role) {
  return "ist-" + std::string(run_id) + "-" + std::string(role);
}

std::string link_name(std::string_view run_id, std::string_view tag) {
  return "ist" + std::string(run_id) + std::string(tag.substr(0, 4));
}

std::string nft_table_name(std::string_view run_id) { return "ist_" + std::string(run_id); }

std::optional<std::string> run_id_of_name(std::string_view name) {
  if (name.size() < 9 || name.substr(0, 3) != "ist") return std::nullopt;
  std::string_view rest = name.substr(3);
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '_')) rest.remove_prefix(1);
  if (rest.size() < 6) return std::nullopt;
  std::string id(rest.substr(0, 6));
  if (!is_valid_run_id(id)) return std::nullopt;
  return id;
}

Result<RunState> RunState::create(const std::string& run_id) {
  if (!is_valid_run_id(run_id)) return Error("invalid run id '" + run_id + "'");
  std::error_code ec;
  fs::create_directories(state_root(), ec);
  if (ec) return Error("creating " + state_root() + ": " + ec.message());
  std::string dir = state_root() + "/" + run_id;
  if (::mkdir(dir.c_str(), 0700) != 0) return Error::sys("creating run state folder " + dir);
  auto start = process_start_ticks(::getpid());
  IST_TRY(write_file_atomic(dir + "/owner", std::to_string(::getpid()) + " " + std::to_string(start.value_or(0)) + "\n",
                            0600));
  return RunState(run_id, dir);
}

Result<RunState> RunState::open(const std::string& run_id) {
  if (!is_valid_run_id(run_id)) return Error("invalid run id '" + run_id + "'");
  std::string dir = state_root() + "/" + run_id;
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return Error::sys("no state for run " + run_id);
  return RunState(run_id, dir);
}

std::vector<std::string> RunState::list_runs() {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(state_root(), ec)) {
    auto name = e.path().filename().string();
    if (e.is_directory() && is_valid_run_id(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status RunState::append(std::string_view line) {
  // One write() with O_APPEND: a line is either wholly in the journal or not at all.
  unique_fd fd(::open((dir_ + "/resources").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) return Error::sys("opening " + dir_ + "/resources");
  std::string l(line);
  l += '\n';
  if (::write(fd.get(), l.data(), l.size()) != static_cast<ssize_t>(l.size()))
    return Error::sys("writing " + dir_ + "/resources");
  return ok();
}

static bool has_space(std::string_view s) { return s.find_first_of(" \n\t") != std::string_view::npos; }

Status RunState::record(const Resource& r) {
  if (r.kind.empty() || r.name.empty() || has_space(r.kind) || has_space(r.name) ||
      r.detail.find('\n') != std::string::npos)
    return Error("journal: bad resource '" + r.kind + " " + r.name + "'");
  std::string line = "+ " + r.kind + " " + r.name;
  if (!r.detail.empty()) line += " " + r.detail;
  return append(line);
}

Status RunState::forget(const Resource& r) { return append("- " + r.kind + " " + r.name); }

Status RunState::record_process(pid_t pid, std::string_view comm) {
  auto start = process_start_ticks(pid);
  return record({std::string(resource_kind::process), std::to_string(pid),
                 std::to_string(start.value_or(0)) + " " + std::string(comm)});
}

Result<std::string> RunState::create_private_dir(std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != std::string_view::npos || has_space(name))
    return Error("run scratch folder: bad name '" + std::string(name) + "'");
  std::string path = dir_ + "/" + std::string(name);
  const std::string exists = "creating run scratch folder " + path + ": it already exists (refused, not reused)";
  // Refused before the journal is touched: forgetting a second entry would drop the first.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) return Error(exists, EEXIST);
  const Resource r{std::string(resource_kind::dir), path, ""};
  IST_TRY(record(r));
  if (::mkdir(path.c_str(), 0700) != 0) {
    const int e = errno;
    (void)forget(r);
    if (e == EEXIST) return Error(exists, e);
    return Error::sys("creating run scratch folder " + path, e);
  }
  return path;
}

Result<std::vector<Resource>> RunState::live_resources() const {
  std::ifstream f(dir_ + "/resources");
  std::vector<Resource> order;
  std::string line;
  while (std::getline(f, line)) {
    if (line.size() < 4 || (line[0] != '+' && line[0] != '-') || line[1] != ' ') continue;  // torn line
    std::istringstream is(line.substr(2));
    Resource r;
    if (!(is >> r.kind >> r.name)) continue;
    std::getline(is >> std::ws, r.detail);
    auto same = [&](const Resource& x) { return x.kind == r.kind && x.name == r.name; };
    order.erase(std::remove_if(order.begin(), order.end(), same), order.end());
    if (line[0] == '+') order.push_back(r);
  }
  return order;
}

std::optional<pid_t> RunState::owner_pid() const {
  std::ifstream f(dir_ + "/owner");
  long pid = 0;
  if (!(f >> pid) || pid <= 0) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool RunState::owner_alive() const {
  std::ifstream f(dir_ + "/owner");
  long pid = 0;
  unsigned long long start = 0;
  if (!(f >> pid >> start) || pid <= 0) return false;
  auto now = process_start_ticks(static_cast<pid_t>(pid));
  return now && *now == start;
}

Status RunState::remove() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) return Error("removing " + dir_ + ": " + ec.message());
  return ok();
}

}  // namespace ist
