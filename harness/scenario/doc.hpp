#pragma once
// The scenario document as read from YAML, before it is typed: a small tree whose every node
// remembers where it came from. --set overrides and sweep points edit this tree (so errors
// point at "--set a.b" or the sweep value), then validation turns it into a Scenario.
// yaml-cpp only parses; its nodes lose their marks when copied, ours do not.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/diagnostics.hpp"

namespace ist::scenario {

struct Entry;

struct Node {
  enum class Kind { null, scalar, sequence, map };

  Kind kind = Kind::null;
  std::string scalar;          // the text as written (scalars only)
  bool plain = true;           // unquoted scalar: may read as a number or bool in JSON
  std::vector<Node> items;     // sequence
  std::vector<Entry> entries;  // map, in document order
  Origin origin;

  bool is_null() const { return kind == Kind::null; }
  bool is_scalar() const { return kind == Kind::scalar; }
  bool is_sequence() const { return kind == Kind::sequence; }
  bool is_map() const { return kind == Kind::map; }

  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  // Map entry for key, added (as null) when absent. The node must be a map.
  Node& at_or_add(std::string_view key, const Origin& key_origin, const std::string& added_by = "");
  void erase(std::string_view key);

  // "8h", "[a, b]", "{rate: 5/s}": a short rendering for messages and sweep parameters.
  std::string text() const;
  // The node as JSON: plain scalars that read as numbers, true/false or null become those.
  nlohmann::json to_json() const;

  static Node make_scalar(std::string value, Origin origin, bool plain = true);
  static Node make_map(Origin origin);
};

struct Entry {
  std::string key;
  Origin key_origin;
  Node value;
  std::string added_by;  // "sweep path 'a.b'" when a sweep axis created this key; else ""
};

// Limits that keep hostile input (alias bombs, deep nesting) cheap.
inline constexpr int kMaxDepth = 64;
inline constexpr std::size_t kMaxNodes = 100000;

// Text with every byte that is not well-formed UTF-8 (and NUL) replaced by U+FFFD, so it
// can go into JSON. For command-line values, which are not checked like files.
std::string sanitize_utf8(std::string_view text);

// Parses YAML text into a tree. `source` names it in messages. Problems (broken YAML, a
// binary or empty file, duplicate keys, non-scalar keys) go to `diag`; the result is then
// a null node.
Node parse_yaml(std::string_view text, const std::string& source, Diagnostics& diag);

}  // namespace ist::scenario
