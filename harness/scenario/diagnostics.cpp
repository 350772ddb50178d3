#include "scenario/diagnostics.hpp"

#include <algorithm>

namespace ist::scenario {

std::string Origin::str() const {
  if (line <= 0) return source;
  if (column <= 0) return source + ":" + std::to_string(line);  // a line of another file (sut.config)
  return source + ":" + std::to_string(line) + ":" + std::to_string(column);
}

nlohmann::json Diagnostic::to_json() const {
  return {{"source", origin.source}, {"line", origin.line}, {"column", origin.column},
          {"message", message}, {"text", str()}};
}

void Diagnostics::add(const Origin& origin, std::string message) {
  const bool seen = std::any_of(items_.begin(), items_.end(), [&](const Diagnostic& d) {
    return d.message == message && d.origin.source == origin.source &&
           d.origin.line == origin.line && d.origin.column == origin.column;
  });
  if (seen) return;
  if (items_.size() >= kMaxReported) {
    ++dropped_;
    return;
  }
  items_.push_back(Diagnostic{origin, std::move(message)});
}

void Diagnostics::merge(const Diagnostics& other) {
  for (const auto& d : other.items_) add(d.origin, d.message);
  dropped_ += other.dropped_;
}

std::string Diagnostics::str() const {
  std::string out;
  for (const auto& d : items_) {
    if (!out.empty()) out += '\n';
    out += d.str();
  }
  if (dropped_ > 0) {
    out += "\n... and " + std::to_string(dropped_) + " more problem" + (dropped_ == 1 ? "" : "s");
  }
  return out;
}

nlohmann::json Diagnostics::to_json() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& d : items_) arr.push_back(d.to_json());
  return arr;
}

}  // namespace ist::scenario
