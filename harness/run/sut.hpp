#pragma once
// The seam to the system under test as the orchestrator sees it.
#include <cstdint>
#include <functional>
#include <string>

#include "common/child_process.hpp"
#include "common/result.hpp"
#include "reports/report.hpp"

namespace ist::run {

class Sut {
 public:
  virtual ~Sut() = default;
  // Asks the SUT how many IKE_SAs it holds established (its own view, e.g. vici list-sas).
  virtual void count_established(std::function<void(Result<uint64_t>)> done) = 0;
  // The SUT's own counters now (vici stats for charon); by default the SUT has none.
  virtual void sample_stats(std::function<void(Result<reports::SutSample>)> done) {
    done(Error("no statistics from this SUT"));
  }
  virtual bool healthy(std::string* why) = 0;
  virtual ProcessUsage usage() = 0;
  virtual Status stop() = 0;
};

}  // namespace ist::run
