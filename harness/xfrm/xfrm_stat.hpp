#pragma once
// /proc/net/xfrm_stat: the kernel's XFRM error counters, one set per network namespace.
// Parsing is apart from reading so tests feed text; the reader keeps one descriptor opened
// inside the namespace (a /proc/net file stays bound to the namespace it was opened in) and
// re-reads it with pread, so a sample needs no thread switch.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "xfrm/netns_runner.hpp"

namespace ist::xfrm {

// Counters in the kernel's order ("XfrmInError", value).
using XfrmStat = std::vector<std::pair<std::string, uint64_t>>;

// "Name<spaces/tabs>value" per line. Errors name the line; an empty text is an error.
Result<XfrmStat> parse_xfrm_stat(std::string_view text);

// after - before per counter (counters missing from `before` count from 0). Only non-zero
// deltas when `nonzero_only`. A counter that went backwards (cannot happen in one
// namespace) yields a negative delta rather than a wrapped one.
std::map<std::string, int64_t> xfrm_stat_delta(const XfrmStat& before, const XfrmStat& after,
                                               bool nonzero_only = true);

class XfrmStatReader {
 public:
  XfrmStatReader() = default;
  // Opens /proc/thread-self/net/xfrm_stat inside the namespace `in` enters.
  static Result<XfrmStatReader> open(const NetnsRunner& in);
  // Opens a given file (tests; the host's own /proc/net/xfrm_stat).
  static Result<XfrmStatReader> open_path(const std::string& path);
  Result<XfrmStat> read() const;
  bool valid() const { return fd_.valid(); }

 private:
  unique_fd fd_;
  std::string path_;
};

}  // namespace ist::xfrm
