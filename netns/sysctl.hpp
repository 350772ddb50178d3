#pragma once
// Sysctls of the calling thread's network namespace, via /proc/sys (call from
// Namespace::run_in: /proc/sys/net resolves to the namespace of the thread that opens it).
#include <string>
#include <vector>

#include "common/result.hpp"

namespace ist::netns {

struct Sysctl {
  std::string key;    // dotted, e.g. "net.ipv4.conf.all.rp_filter"
  std::string value;
  // Skip (and report) when this kernel has no such key in a namespace or shows it read-only
  // there (net.core.rmem_max and friends are global on 6.x and read-only outside the host).
  bool optional = false;
};

std::string sysctl_path(const std::string& key);  // /proc/sys/net/ipv4/conf/all/rp_filter
// Writes `s`; returns false when an optional key was skipped.
Result<bool> write_sysctl(const Sysctl& s);
// Writes all; appends the keys of skipped optional ones to `skipped` when given.
Status write_sysctls(const std::vector<Sysctl>& list, std::vector<std::string>* skipped = nullptr);
Result<std::string> read_sysctl(const std::string& key);  // trailing newline stripped
// The report's one note for the optional sysctls that were skipped: "sysctls not settable
// here (left as the kernel has them): a, b, c"; "" when none was skipped.
std::string skipped_sysctls_note(const std::vector<std::string>& skipped);

}  // namespace ist::netns
