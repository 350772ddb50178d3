#include "xfrm/xfrm_stat.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

namespace ist::xfrm {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

}  // namespace

Result<XfrmStat> parse_xfrm_stat(std::string_view text) {
  XfrmStat out;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!line.empty() && (is_space(line.back()) || line.back() == '\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    std::size_t name_end = 0;
    while (name_end < line.size() && !is_space(line[name_end])) ++name_end;
    std::string_view name = line.substr(0, name_end);
    std::string_view rest = line.substr(name_end);
    while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (name.empty() || rest.empty() || ec != std::errc() || p != rest.data() + rest.size())
      return Error("xfrm_stat line " + std::to_string(line_no) + " is not 'Name value': '" +
                   std::string(line.substr(0, 80)) + "'");
    out.emplace_back(std::string(name), v);
  }
  if (out.empty()) return Error("xfrm_stat is empty");
  return out;
}

std::map<std::string, int64_t> xfrm_stat_delta(const XfrmStat& before, const XfrmStat& after, bool nonzero_only) {
  std::map<std::string, uint64_t> old;
  for (const auto& [k, v] : before) old.emplace(k, v);
  std::map<std::string, int64_t> out;
  for (const auto& [k, v] : after) {
    auto it = old.find(k);
    uint64_t b = it == old.end() ? 0 : it->second;
    auto d = static_cast<int64_t>(v - b);  // two's complement: a decrease comes out negative
    if (d != 0 || !nonzero_only) out[k] = d;
  }
  return out;
}

Result<XfrmStatReader> XfrmStatReader::open_path(const std::string& path) {
  XfrmStatReader r;
  r.path_ = path;
  r.fd_.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!r.fd_) {
    if (errno == ENOENT) return Error(path + " does not exist (kernel without CONFIG_XFRM_STATISTICS?)", ENOENT);
    return Error::sys("opening " + path);
  }
  return r;
}

Result<XfrmStatReader> XfrmStatReader::open(const NetnsRunner& in) {
  // /proc/net is /proc/self/net: the namespace of the process's main thread, not of the
  // thread that entered the namespace. thread-self is the entered one.
  XfrmStatReader r;
  IST_TRY(in([&]() -> Status {
    IST_TRY_ASSIGN(r, open_path("/proc/thread-self/net/xfrm_stat"));
    return ok();
  }));
  return r;
}

Result<XfrmStat> XfrmStatReader::read() const {
  if (!fd_) return Error("xfrm_stat reader is not open");
  std::string text;
  char buf[4096];
  for (off_t off = 0;;) {
    ssize_t n = ::pread(fd_.get(), buf, sizeof buf, off);
    if (n < 0) return Error::sys("reading " + path_);
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    off += n;
    if (text.size() > (1u << 20)) return Error(path_ + " is larger than 1 MiB");
  }
  return parse_xfrm_stat(text);
}

}  // namespace ist::xfrm
