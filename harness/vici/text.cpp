#include "vici/text.hpp"

#include <vector>

namespace ist::vici {

namespace {

bool plain(std::string_view v) {
  if (v.empty() || v.front() == ' ' || v.back() == ' ') return false;
  for (unsigned char c : v)
    if (c < 0x20 || c == 0x7f || c == '"') return false;
  return true;
}

std::string show(const std::string& v) {
  if (!is_valid_utf8(v)) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "!hex ";
    for (unsigned char c : v) {
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
    return out;
  }
  if (plain(v)) return v;
  return nlohmann::json(v).dump();
}

void format_into(const Message& m, int indent, std::string& out) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  for (const auto& e : m.elements()) {
    out += pad;
    out += show(e.name);
    out += ':';
    switch (e.kind) {
      case Element::Kind::value:
        out += ' ';
        out += show(e.value);
        out += '\n';
        break;
      case Element::Kind::list:
        if (e.items.empty()) {
          out += " []\n";
          break;
        }
        out += '\n';
        for (const auto& item : e.items) {
          out += pad;
          out += "  - ";
          out += show(item);
          out += '\n';
        }
        break;
      case Element::Kind::section:
        if (e.section->empty()) {
          out += " {}\n";
          break;
        }
        out += '\n';
        format_into(*e.section, indent + 1, out);
        break;
    }
  }
}

}  // namespace

std::string format_text(const Message& m, int indent) {
  std::string out;
  format_into(m, indent, out);
  return out;
}

Status apply_assignment(Message& m, std::string_view assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Error("'" + std::string(assignment) + "' is not key=value");
  std::string_view path = assignment.substr(0, eq);
  const std::string_view value = assignment.substr(eq + 1);
  bool is_list = false;
  if (path.size() > 2 && path.substr(path.size() - 2) == "[]") {
    is_list = true;
    path.remove_suffix(2);
  }
  std::vector<std::string_view> parts;
  while (true) {
    const auto dot = path.find('.');
    parts.push_back(path.substr(0, dot));
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  for (auto p : parts)
    if (p.empty() || p.find_first_of("[]") != std::string_view::npos)
      return Error("bad key in '" + std::string(assignment) + "'");
  Message* at = &m;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const Element* e = at->find(parts[i]);
    if (e && e->kind != Element::Kind::section)
      return Error("'" + std::string(parts[i]) + "' in '" + std::string(assignment) +
                   "' is already a " + (e->kind == Element::Kind::list ? "list" : "value") +
                   ", not a section");
    at = &at->section(parts[i]);
  }
  const std::string_view leaf = parts.back();
  const Element* e = at->find(leaf);
  if (is_list) {
    if (e && e->kind != Element::Kind::list)
      return Error("'" + std::string(leaf) + "' is already a " +
                   (e->kind == Element::Kind::section ? "section" : "value") + ", not a list");
    at->append(leaf, value);
  } else {
    if (e && e->kind != Element::Kind::value)
      return Error("'" + std::string(leaf) + "' is already a " +
                   (e->kind == Element::Kind::section ? "section" : "list") + ", not a value");
    at->set(leaf, value);
  }
  return ok();
}

}  // namespace ist::vici
