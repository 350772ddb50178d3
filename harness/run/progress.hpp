#pragma once
// What a person watching a long run sees: on a terminal, one line rewritten in place once a
// second; otherwise (CI logs) a plain line every `plain_every` seconds, so logs stay short.
#include <chrono>
#include <cstdio>
#include <string>

#include "common/clock.hpp"

namespace ist::run {

struct ProgressSnapshot {
  std::string phase;
  double t_s = 0;
  uint64_t peers = 0, established = 0, failed = 0, in_flight = 0;
  double rate_per_s = 0;  // establishments in the last second
  uint64_t rekeys = 0;
};

class Progress {
 public:
  explicit Progress(std::FILE* out = stderr, std::chrono::seconds plain_every = std::chrono::seconds(5));
  void update(const ProgressSnapshot& s);
  void finish();  // ends the in-place line
  static std::string format(const ProgressSnapshot& s);

 private:
  std::FILE* out_;
  bool tty_;
  std::chrono::seconds plain_every_;
  MonoTime last_plain_{};
  bool drawn_ = false;
};

}  // namespace ist::run
