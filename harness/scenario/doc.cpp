#include "scenario/doc.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <sstream>

namespace ist::scenario {
namespace {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
  }
  return len;
}

// Offset of the first byte that breaks UTF-8 (or a NUL), or npos when the text is clean.
std::size_t first_non_text_byte(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '\0') return i;
    const std::size_t len = utf8_sequence_length(s, i);
    if (len == 0) return i;
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

// Ends parsing from inside an event callback: the input is too big, too deep or broken in
// a way yaml-cpp itself does not stop at (0.7 loops forever on a document that starts with
// ',', emitting events; the event budget turns that into an error).
struct StopParsing {
  Origin origin;
  std::string message;
};

std::size_t subtree_size(const Node& n) {
  std::size_t size = 1;
  for (const auto& i : n.items) size += subtree_size(i);
  for (const auto& e : n.entries) size += 1 + subtree_size(e.value);
  return size;
}

// Builds our tree straight from yaml-cpp's parse events, so every node keeps its mark and
// hostile input is bounded (nodes, depth, aliases) while it is read.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const std::string& source, Diagnostics& diag) : source_(source), diag_(diag) {}

  std::vector<Node> documents;
  std::vector<Origin> document_starts;
  std::vector<int> document_offsets;

  void OnDocumentStart(const YAML::Mark& mark) override {
    document_starts.push_back(at(mark, Origin{source_, 1, 1}));
    document_offsets.push_back(mark.pos);
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    Node n;
    n.origin = at(mark, parent_origin());
    finish(std::move(n), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw StopParsing{at(mark, parent_origin()), "an alias that refers to itself or to nothing"};
    }
    count(subtree_size(it->second), mark);
    finish(Node(it->second), 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Node n = Node::make_scalar(value, at(mark, parent_origin()), tag == "?");
    finish(std::move(n), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Node n;
    n.kind = Node::Kind::sequence;
    n.origin = at(mark, parent_origin());
    open(std::move(n), anchor, mark);
  }
  void OnSequenceEnd() override { close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(Node::make_map(at(mark, parent_origin())), anchor, mark);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Frame {
    Node node;
    YAML::anchor_t anchor = 0;
    std::optional<Node> pending_key;  // maps: the key read, waiting for its value
  };

  Origin at(const YAML::Mark& m, const Origin& fallback) const {
    return origin_of(m, source_, fallback);
  }
  Origin parent_origin() const {
    if (stack_.empty()) return Origin{source_, 1, 1};
    const Frame& f = stack_.back();
    return f.pending_key ? f.pending_key->origin : f.node.origin;
  }

  void count(std::size_t n, const YAML::Mark& mark) {
    nodes_ += n;
    if (nodes_ > kMaxNodes) {
      throw StopParsing{at(mark, parent_origin()),
                        "document too large: more than " + std::to_string(kMaxNodes) +
                            " nodes (aliases expanded)"};
    }
  }

  void open(Node n, YAML::anchor_t anchor, const YAML::Mark& mark) {
    count(1, mark);
    if (stack_.size() >= static_cast<std::size_t>(kMaxDepth)) {
      throw StopParsing{n.origin, "nesting deeper than " + std::to_string(kMaxDepth) + " levels"};
    }
    stack_.push_back(Frame{std::move(n), anchor, std::nullopt});
  }

  void close() {
    if (stack_.empty()) return;
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    finish(std::move(f.node), f.anchor);
  }

  // A complete node goes to its parent (or becomes the document).
  void finish(Node n, YAML::anchor_t anchor) {
    if (n.kind != Node::Kind::map && n.kind != Node::Kind::sequence) count(1, YAML::Mark::null_mark());
    if (anchor != 0) anchors_[anchor] = n;
    if (stack_.empty()) {
      documents.push_back(std::move(n));
      return;
    }
    Frame& parent = stack_.back();
    if (parent.node.is_sequence()) {
      parent.node.items.push_back(std::move(n));
      return;
    }
    if (!parent.pending_key) {
      parent.pending_key = std::move(n);
      return;
    }
    Node key = std::move(*parent.pending_key);
    parent.pending_key.reset();
    if (!key.is_scalar()) {
      diag_.add(key.origin, "a key must be a plain name, not " +
                                std::string(key.is_null() ? "empty" : key.is_map() ? "a map" : "a list"));
      return;
    }
    if (parent.node.find(key.scalar) != nullptr) {
      diag_.add(key.origin, "duplicate key '" + key.scalar + "'");
      return;
    }
    parent.node.entries.push_back(Entry{key.scalar, key.origin, std::move(n), {}});
  }

  const std::string& source_;
  Diagnostics& diag_;
  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, Node> anchors_;
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

std::string sanitize_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t len = text[i] == '\0' ? 0 : utf8_sequence_length(text, i);
    if (len == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(text.substr(i, len));
      i += len;
    }
  }
  return out;
}

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
    default: return to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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
  TreeBuilder builder(source, diag);
  try {
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
      if (builder.documents.size() > 1) break;
    }
  } catch (const StopParsing& stop) {
    diag.add(stop.origin, stop.message);
    return Node{};
  } catch (const YAML::Exception& e) {
    std::string msg = "broken YAML: " + e.msg;
    if (e.msg.find("block scalar") != std::string::npos) {
      msg += "; quote a value that starts with '>' or '|', e.g. \">= 0.99\"";
    }
    diag.add(origin_of(e.mark, source, start), msg);
    return Node{};
  } catch (const std::exception& e) {
    diag.add(start, std::string("broken YAML: ") + e.what());
    return Node{};
  }
  if (builder.documents.empty()) {
    diag.add(start, "empty scenario: expected a YAML map with keys such as name, peers, phases");
    return Node{};
  }
  if (builder.documents.size() > 1 && builder.document_offsets[1] == builder.document_offsets[0]) {
    // yaml-cpp 0.7 starts empty documents forever at a token it cannot place (a leading ',').
    const auto off = static_cast<std::size_t>(std::max(0, builder.document_offsets[0]));
    std::string what = off < text.size() ? std::string(1, text[off]) : std::string("end of file");
    std::size_t stuck = off;
    while (stuck < text.size() && (text[stuck] == ' ' || text[stuck] == '\n' || text[stuck] == '\t' ||
                                   text[stuck] == '\r')) {
      ++stuck;
    }
    if (stuck < text.size()) what = std::string(1, text[stuck]);
    diag.add(origin_of_offset(source, text, stuck), "broken YAML: unexpected '" + what + "'");
    return Node{};
  }
  if (builder.documents.size() > 1) {
    const Origin second = builder.document_starts.size() > 1 ? builder.document_starts[1] : start;
    diag.add(second, "the file holds more than one YAML document; a scenario is exactly one");
    return Node{};
  }
  if (!diag.empty()) return Node{};
  Node root = std::move(builder.documents.front());
  return root;
}

}  // namespace ist::scenario
