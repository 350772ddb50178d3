#pragma once
// Scenario problems found while reading a file: each names where it came from (file:line:col
// or "--set a.b"), and all of them are collected (up to a cap) so a user fixes a file in one go.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"

namespace ist::scenario {

// Where a value came from. line/column are 1-based; 0 when the value did not come from a
// file line (a --set override, the command line, a built-in default).
struct Origin {
  std::string source;  // file path as given, "--set peers.count", "<default scenario>"
  int line = 0;
  int column = 0;

  // "file:line:column", "file:line" (column 0), or just the source.
  std::string str() const;
};

struct Diagnostic {
  Origin origin;
  std::string message;  // "peers.count: expected a whole number from 1 to 1000000, got '-5'"

  std::string str() const { return origin.str() + ": " + message; }
  nlohmann::json to_json() const;
};

class Diagnostics {
 public:
  static constexpr std::size_t kMaxReported = 20;

  // Adds a problem; an identical one (same origin and message) is recorded once.
  void add(const Origin& origin, std::string message);

  // Adds every problem of `other` (deduplicated, capped).
  void merge(const Diagnostics& other);

  bool empty() const { return items_.empty(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::size_t dropped() const { return dropped_; }  // problems beyond kMaxReported
  std::size_t count() const { return items_.size() + dropped_; }

  // One problem per line, with a last line "... and N more problems" when capped.
  std::string str() const;
  nlohmann::json to_json() const;
  // All problems as one Error (message = str()).
  Error to_error() const { return Error(str()); }

 private:
  std::vector<Diagnostic> items_;
  std::size_t dropped_ = 0;
};

}  // namespace ist::scenario
