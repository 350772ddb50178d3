#include "scenario/doc.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace ist::scenario {
namespace {

// Offset of the first byte that breaks UTF-8 (or a NUL), or npos when the text is clean.
std::size_t first_non_text_byte(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) return i;
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > s.size()) return i;
    for (int k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// 1-based line and column of a byte offset.
Origin origin_of_offset(const std::string& source, std::string_view text, std::size_t off) {
  Origin o{source, 1, 1};
  for (std::size_t i = 0; i < off && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++o.line;
      o.column = 1;
    } else {
      ++o.column;
    }
  }
  return o;
}

Origin origin_of(const YAML::Mark& m, const std::string& source, const Origin& fallback) {
  if (m.line < 0 || m.column < 0) return fallback;
  return Origin{source, m.line + 1, m.column + 1};
}

class Converter {
 public:
  Converter(const std::string& source, Diagnostics& diag) : source_(source), diag_(diag) {}

  bool convert(const YAML::Node& in, const Origin& fallback, int depth, Node& out) {
    out.origin = origin_of(in.Mark(), source_, fallback);
    if (++nodes_ > kMaxNodes) {
      diag_.add(out.origin, "document too large: more than " + std::to_string(kMaxNodes) +
                                " nodes (aliases expanded)");
      return false;
    }
    if (depth > kMaxDepth) {
      diag_.add(out.origin, "nesting deeper than " + std::to_string(kMaxDepth) +
                                " levels (or an alias that refers to itself)");
      return false;
    }
    switch (in.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out.kind = Node::Kind::null;
        return true;
      case YAML::NodeType::Scalar:
        out.kind = Node::Kind::scalar;
        out.scalar = in.Scalar();
        out.plain = in.Tag() != "!";
        return true;
      case YAML::NodeType::Sequence:
        out.kind = Node::Kind::sequence;
        for (const auto& item : in) {
          out.items.emplace_back();
          if (!convert(item, out.origin, depth + 1, out.items.back())) return false;
        }
        return true;
      case YAML::NodeType::Map:
        out.kind = Node::Kind::map;
        for (auto it = in.begin(); it != in.end(); ++it) {
          Origin key_origin = origin_of(it->first.Mark(), source_, out.origin);
          if (!it->first.IsScalar()) {
            diag_.add(key_origin, "a key must be a plain name, not a list or map");
            continue;
          }
          const std::string key = it->first.Scalar();
          if (out.find(key) != nullptr) {
            diag_.add(key_origin, "duplicate key '" + key + "'");
            continue;
          }
          Entry e{key, key_origin, Node{}, {}};
          if (!convert(it->second, key_origin, depth + 1, e.value)) return false;
          out.entries.push_back(std::move(e));
        }
        return true;
    }
    return true;
  }

 private:
  const std::string& source_;
  Diagnostics& diag_;
  std::size_t nodes_ = 0;
};

bool only_blank_or_comments(std::string_view text) {
  bool in_comment = false;
  for (char c : text) {
    if (c == '\n') {
      in_comment = false;
    } else if (in_comment) {
      continue;
    } else if (c == '#') {
      in_comment = true;
    } else if (c != ' ' && c != '\t' && c != '\r') {
      return false;
    }
  }
  return true;
}

// Plain scalars the way YAML 1.2's core schema reads them.
nlohmann::json plain_scalar_json(const std::string& s) {
  if (s == "null" || s == "Null" || s == "NULL" || s == "~") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  const bool numeric_chars = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
  });
  const bool has_digit = std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!numeric_chars || !has_digit) return s;
  const char* b = s.data() + (s[0] == '+' ? 1 : 0);
  const char* e = s.data() + s.size();
  long long i = 0;
  if (auto r = std::from_chars(b, e, i); r.ec == std::errc() && r.ptr == e) return i;
  double d = 0;
  if (auto r = std::from_chars(b, e, d); r.ec == std::errc() && r.ptr == e && std::isfinite(d)) {
    return d;
  }
  return s;
}

}  // namespace

const Node* Node::find(std::string_view key) const {
  for (const auto& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

Node* Node::find(std::string_view key) {
  for (auto& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

Node& Node::at_or_add(std::string_view key, const Origin& key_origin, const std::string& added_by) {
  if (Node* n = find(key)) return *n;
  Node fresh;
  fresh.origin = key_origin;
  entries.push_back(Entry{std::string(key), key_origin, std::move(fresh), added_by});
  return entries.back().value;
}

void Node::erase(std::string_view key) {
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [&](const Entry& e) { return e.key == key; }),
                entries.end());
}

std::string Node::text() const {
  switch (kind) {
    case Kind::null: return "null";
    case Kind::scalar: return scalar;
    default: return to_json().dump();
  }
}

nlohmann::json Node::to_json() const {
  switch (kind) {
    case Kind::null: return nullptr;
    case Kind::scalar: return plain ? plain_scalar_json(scalar) : nlohmann::json(scalar);
    case Kind::sequence: {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& i : items) arr.push_back(i.to_json());
      return arr;
    }
    case Kind::map: {
      nlohmann::json obj = nlohmann::json::object();
      for (const auto& e : entries) obj[e.key] = e.value.to_json();
      return obj;
    }
  }
  return nullptr;
}

Node Node::make_scalar(std::string value, Origin origin, bool plain) {
  Node n;
  n.kind = Kind::scalar;
  n.scalar = std::move(value);
  n.plain = plain;
  n.origin = std::move(origin);
  return n;
}

Node Node::make_map(Origin origin) {
  Node n;
  n.kind = Kind::map;
  n.origin = std::move(origin);
  return n;
}

Node parse_yaml(std::string_view text, const std::string& source, Diagnostics& diag) {
  const Origin start{source, 1, 1};
  if (auto bad = first_non_text_byte(text); bad != std::string_view::npos) {
    diag.add(origin_of_offset(source, text, bad),
             "not a text file: byte " + std::to_string(bad) +
                 (text[bad] == '\0' ? " is NUL" : " is not UTF-8") +
                 " (a scenario is a YAML text file)");
    return Node{};
  }
  if (only_blank_or_comments(text)) {
    diag.add(start, "empty scenario: expected a YAML map with keys such as name, peers, phases");
    return Node{};
  }
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception& e) {
    Origin o = origin_of(e.mark, source, start);
    diag.add(o, "broken YAML: " + e.msg);
    return Node{};
  } catch (const std::exception& e) {
    diag.add(start, std::string("broken YAML: ") + e.what());
    return Node{};
  }
  if (docs.empty()) {
    diag.add(start, "empty scenario: expected a YAML map with keys such as name, peers, phases");
    return Node{};
  }
  if (docs.size() > 1) {
    diag.add(origin_of(docs[1].Mark(), source, start),
             "the file holds " + std::to_string(docs.size()) +
                 " YAML documents; a scenario is exactly one");
    return Node{};
  }
  Node root;
  try {
    Converter conv(source, diag);
    if (!conv.convert(docs[0], start, 0, root)) return Node{};
  } catch (const std::exception& e) {
    diag.add(start, std::string("broken YAML: ") + e.what());
    return Node{};
  }
  return root;
}

}  // namespace ist::scenario
