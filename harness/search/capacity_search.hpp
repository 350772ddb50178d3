#pragma once
// The capacity search (RFC 2544's binary search, for tunnels): the highest value on an axis
// at which a trial passes. Values lie on a grid from --from in steps of --resolution (the
// last step clipped to --to). It tries --from first; then it brackets upwards, doubling the
// distance from --from each time a value passes (from, 2 from, 4 from, ...), and when a value
// fails it bisects between the highest pass and the lowest fail until they are one step
// apart. A value passes only when `trials_per_value` trials in a row pass.
//
// With --from 100 --to 1000 --resolution 1 and a limit of 300 that is 100, 200, 400 (fail),
// then 7 bisection steps over [200, 400]: 10 trials.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "search/axis.hpp"

namespace ist::search {

enum class Verdict {
  pass,
  fail,          // an expectation failed (the SUT's answer at this value)
  harness_fault, // the trial could not measure; the search stops
  leak,          // the trial left resources behind; the search stops
  interrupted,   // Ctrl-C during the trial; the search stops
};
std::string_view verdict_name(Verdict v);  // "pass" | "fail" | "harness-fault" | "leak" | "interrupted"

struct Trial {
  std::size_t number = 0;  // 1-based, in the order run
  double value = 0;        // base units
  std::size_t repeat = 0;  // 1-based: which of the value's K trials
  Verdict verdict = Verdict::pass;
  std::string folder;      // report folder below the search's --out (set by the runner)
  std::vector<std::string> failed;  // failed expectations, "expr (observed X)"
  double wall_s = 0;
  nlohmann::json metrics = nlohmann::json::object();  // the run's headline numbers
};

// Why the search ended (or "running" while it goes on).
enum class Status { running, found, from_fails, interrupted, max_time, harness_fault, leak };
std::string_view status_name(Status s);  // "running" | "found" | "from-fails" | ...

class CapacitySearch {
 public:
  CapacitySearch(Axis axis, std::size_t trials_per_value);

  // The value the next trial runs at; nullopt once the search is decided.
  std::optional<double> next() const;
  // Which of the value's K trials the next one is (1-based).
  std::size_t next_repeat() const { return repeat_ + 1; }
  // One trial's verdict at next(). pass/fail move the search on; anything else ends it.
  void record(Trial trial);
  // The search ends early (out of time); what is known stays.
  void stop(Status why);

  Status status() const { return status_; }
  std::optional<double> highest_pass() const;
  std::optional<double> lowest_fail() const;
  const std::vector<Trial>& trials() const { return trials_; }
  const Axis& axis() const { return axis_; }
  std::size_t trials_per_value() const { return k_; }

  double value_at(std::size_t index) const;  // grid index -> base-unit value
  std::size_t grid_last() const { return last_; }

 private:
  void advance(bool passed);

  Axis axis_;
  std::size_t k_;
  std::size_t last_;                  // highest grid index (the one at --to)
  std::optional<std::size_t> lo_;     // highest index known to pass
  std::optional<std::size_t> hi_;     // lowest index known to fail
  std::size_t step_ = 1;              // bracketing: the next distance above lo_
  std::size_t current_ = 0;           // index under trial
  std::size_t repeat_ = 0;            // passing trials of current_ so far
  Status status_ = Status::running;
  std::vector<Trial> trials_;
};

// What a runner returns for one trial.
struct TrialResult {
  Verdict verdict = Verdict::pass;
  std::string folder;
  std::vector<std::string> failed;
  double wall_s = 0;
  nlohmann::json metrics = nlohmann::json::object();
};

struct Limits {
  double max_time_s = 0;                         // 0: no limit; checked before each trial
  std::function<double()> elapsed_s;             // seconds since the search began
  std::function<bool()> stop_requested;          // Ctrl-C
};

// Runs the search to its end: `run_trial(value, trial_number, repeat)` runs one trial;
// `after_trial` sees the search after each (to write search.json and a progress line).
void run_search(CapacitySearch& search, const std::function<TrialResult(double, std::size_t, std::size_t)>& run_trial,
                const std::function<void(const CapacitySearch&, const Trial&)>& after_trial, const Limits& limits);

// search.json's search part: axis, frontier, status and every trial (values as written).
nlohmann::json to_json(const CapacitySearch& search);

}  // namespace ist::search
