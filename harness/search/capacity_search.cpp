#include "search/capacity_search.hpp"

#include <algorithm>
#include <cmath>

namespace ist::search {

std::string_view verdict_name(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::harness_fault: return "harness-fault";
    case Verdict::leak: return "leak";
    case Verdict::interrupted: return "interrupted";
  }
  return "fail";
}

std::string_view status_name(Status s) {
  switch (s) {
    case Status::running: return "running";
    case Status::found: return "found";
    case Status::from_fails: return "from-fails";
    case Status::interrupted: return "interrupted";
    case Status::max_time: return "max-time";
    case Status::harness_fault: return "harness-fault";
    case Status::leak: return "leak";
  }
  return "running";
}

CapacitySearch::CapacitySearch(Axis axis, std::size_t trials_per_value)
    : axis_(axis), k_(std::max<std::size_t>(1, trials_per_value)) {
  // The grid's last index reaches --to (a last step shorter than the resolution is clipped).
  const double steps = (axis_.to - axis_.from) / axis_.resolution;
  last_ = static_cast<std::size_t>(std::ceil(steps - 1e-9));
  // Bracketing doubles the value: the first step up is --from itself (at least one step).
  step_ = std::max<std::size_t>(1, static_cast<std::size_t>(std::llround(axis_.from / axis_.resolution)));
}

double CapacitySearch::value_at(std::size_t index) const {
  return std::min(axis_.from + static_cast<double>(index) * axis_.resolution, axis_.to);
}

std::optional<double> CapacitySearch::next() const {
  if (status_ != Status::running) return std::nullopt;
  return value_at(current_);
}

std::optional<double> CapacitySearch::highest_pass() const {
  return lo_ ? std::optional<double>(value_at(*lo_)) : std::nullopt;
}

std::optional<double> CapacitySearch::lowest_fail() const {
  return hi_ ? std::optional<double>(value_at(*hi_)) : std::nullopt;
}

void CapacitySearch::record(Trial trial) {
  if (status_ != Status::running) return;
  trial.number = trials_.size() + 1;
  trial.value = value_at(current_);
  trial.repeat = repeat_ + 1;
  const Verdict v = trial.verdict;
  trials_.push_back(std::move(trial));
  switch (v) {
    case Verdict::pass:
      if (++repeat_ < k_) return;  // the value needs K passes in a row
      repeat_ = 0;
      advance(true);
      return;
    case Verdict::fail:
      repeat_ = 0;
      advance(false);
      return;
    case Verdict::harness_fault: status_ = Status::harness_fault; return;
    case Verdict::leak: status_ = Status::leak; return;
    case Verdict::interrupted: status_ = Status::interrupted; return;
  }
}

void CapacitySearch::stop(Status why) {
  if (status_ == Status::running) status_ = why;
}

void CapacitySearch::advance(bool passed) {
  if (passed) {
    lo_ = current_;
  } else if (current_ == 0) {
    status_ = Status::from_fails;
    return;
  } else {
    hi_ = current_;
  }
  if (!hi_) {  // still bracketing: nothing failed yet
    if (current_ == last_) {
      status_ = Status::found;  // --to itself passes
      return;
    }
    current_ = std::min(*lo_ + step_, last_);
    step_ *= 2;
    return;
  }
  if (*hi_ - *lo_ <= 1) {
    status_ = Status::found;
    return;
  }
  current_ = *lo_ + (*hi_ - *lo_) / 2;
}

void run_search(CapacitySearch& search, const std::function<TrialResult(double, std::size_t, std::size_t)>& run_trial,
                const std::function<void(const CapacitySearch&, const Trial&)>& after_trial, const Limits& limits) {
  while (auto value = search.next()) {
    if (limits.stop_requested && limits.stop_requested()) {
      search.stop(Status::interrupted);
      break;
    }
    if (limits.max_time_s > 0 && limits.elapsed_s && limits.elapsed_s() >= limits.max_time_s) {
      search.stop(Status::max_time);
      break;
    }
    TrialResult r = run_trial(*value, search.trials().size() + 1, search.next_repeat());
    Trial t;
    t.verdict = r.verdict;
    t.folder = std::move(r.folder);
    t.failed = std::move(r.failed);
    t.wall_s = r.wall_s;
    t.metrics = std::move(r.metrics);
    search.record(std::move(t));
    if (after_trial) after_trial(search, search.trials().back());
  }
}

nlohmann::json to_json(const CapacitySearch& s) {
  const Axis& a = s.axis();
  auto text = [&](std::optional<double> v) -> nlohmann::json {
    return v ? nlohmann::json(format_value(a, *v)) : nlohmann::json(nullptr);
  };
  auto number = [](std::optional<double> v) -> nlohmann::json {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json j;
  j["unit"] = unit_name(a.unit);
  j["base_unit"] = a.unit == Unit::duration ? "ms" : a.unit == Unit::rate ? "per_s" : "1";
  j["from"] = format_value(a, a.from);
  j["to"] = format_value(a, a.to);
  j["resolution"] = format_value(a, a.resolution);
  j["trials_per_value"] = s.trials_per_value();
  j["status"] = status_name(s.status());
  j["frontier"] = {{"highest_pass", text(s.highest_pass())},
                   {"lowest_fail", text(s.lowest_fail())},
                   {"highest_pass_base", number(s.highest_pass())},
                   {"lowest_fail_base", number(s.lowest_fail())}};
  nlohmann::json trials = nlohmann::json::array();
  for (const auto& t : s.trials()) {
    trials.push_back({{"trial", t.number},
                      {"value", format_value(a, t.value)},
                      {"value_base", t.value},
                      {"repeat", t.repeat},
                      {"verdict", verdict_name(t.verdict)},
                      {"folder", t.folder},
                      {"failed", t.failed},
                      {"wall_s", t.wall_s},
                      {"metrics", t.metrics}});
  }
  j["trials"] = std::move(trials);
  return j;
}

}  // namespace ist::search
