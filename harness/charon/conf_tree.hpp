#pragma once
// An ordered tree of settings in strongswan.conf form, addressed by dotted paths
// ("plugins.vici.socket"). Entries keep the order they were first set in, so a renderer fed
// the same inputs in the same order writes byte-identical files.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace ist::charon {

class ConfTree {
 public:
  // Sets the value at `path`, creating sections on the way. Setting an existing key replaces
  // its value in place. Errors: an invalid segment name, a value with a line break, a path
  // that runs through a key ("a = 1" then "a.b = 2") or names a section as a key.
  Status set(std::string_view path, std::string_view value);
  // The value at `path`, if it is a key.
  std::optional<std::string> get(std::string_view path) const;
  // True when `path` names a key or a section.
  bool contains(std::string_view path) const;
  bool empty() const { return root_.children.empty(); }

  // Every key as (dotted path, value), in render order: for reports of effective settings.
  std::vector<std::pair<std::string, std::string>> entries() const;

  // Renders in strongswan.conf syntax, two spaces per level, keys before sections at
  // each level (both in insertion order), ending with a newline.
  std::string render() const;

 private:
  struct Node {
    std::string name;
    std::optional<std::string> value;  // set for a key; a section has none
    std::vector<Node> children;
  };
  static const Node* find_child(const Node& n, std::string_view name);
  static void render_node(const Node& n, int depth, std::string& out);
  static void collect(const Node& n, const std::string& prefix,
                      std::vector<std::pair<std::string, std::string>>& out);
  const Node* find(std::string_view path) const;
  Node root_;
};

// Splits "a.b.c" into {"a","b","c"}; empty segments are kept (and then refused by set()).
std::vector<std::string_view> split_conf_path(std::string_view path);

}  // namespace ist::charon
