#include "charon/conf_tree.hpp"

#include "charon/conf_syntax.hpp"

namespace ist::charon {

std::vector<std::string_view> split_conf_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

const ConfTree::Node* ConfTree::find_child(const Node& n, std::string_view name) {
  for (const auto& c : n.children)
    if (c.name == name) return &c;
  return nullptr;
}

Status ConfTree::set(std::string_view path, std::string_view value) {
  auto parts = split_conf_path(path);
  for (auto p : parts)
    if (!is_valid_conf_name(p))
      return Error("invalid setting name '" + std::string(path) +
                   "': each dotted part must be letters, digits, '_' or '-'");
  if (auto st = check_conf_value(value); !st) return Error(st.error().message).wrap(std::string(path));

  Node* n = &root_;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    Node* child = nullptr;
    for (auto& c : n->children)
      if (c.name == parts[i]) child = &c;
    if (!child) {
      n->children.push_back(Node{std::string(parts[i]), std::nullopt, {}});
      child = &n->children.back();
      if (last) child->value = std::string(value);
    } else if (last) {
      if (!child->value)
        return Error("setting '" + std::string(path) + "' is a section, not a key");
      child->value = std::string(value);
    } else if (child->value) {
      std::string prefix;
      for (std::size_t j = 0; j <= i; ++j) prefix += (j ? "." : "") + std::string(parts[j]);
      return Error("setting '" + std::string(path) + "' runs through key '" + prefix +
                   "', which has a value");
    }
    n = child;
  }
  return ok();
}

const ConfTree::Node* ConfTree::find(std::string_view path) const {
  const Node* n = &root_;
  for (auto p : split_conf_path(path)) {
    n = find_child(*n, p);
    if (!n) return nullptr;
  }
  return n;
}

std::optional<std::string> ConfTree::get(std::string_view path) const {
  const Node* n = find(path);
  if (!n || !n->value) return std::nullopt;
  return n->value;
}

bool ConfTree::contains(std::string_view path) const { return find(path) != nullptr; }

void ConfTree::render_node(const Node& n, int depth, std::string& out) {
  const std::string pad(static_cast<std::size_t>(depth) * 2, ' ');
  for (const auto& c : n.children)
    if (c.value) out += pad + c.name + " = " + quote_conf_value(*c.value) + "\n";
  for (const auto& c : n.children) {
    if (c.value) continue;
    out += pad + c.name + " {\n";
    render_node(c, depth + 1, out);
    out += pad + "}\n";
  }
}

void ConfTree::collect(const Node& n, const std::string& prefix,
                       std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& c : n.children)
    if (c.value) out.emplace_back(prefix + c.name, *c.value);
  for (const auto& c : n.children)
    if (!c.value) collect(c, prefix + c.name + ".", out);
}

std::vector<std::pair<std::string, std::string>> ConfTree::entries() const {
  std::vector<std::pair<std::string, std::string>> out;
  collect(root_, "", out);
  return out;
}

std::string ConfTree::render() const {
  std::string out;
  render_node(root_, 0, out);
  return out;
}

}  // namespace ist::charon
