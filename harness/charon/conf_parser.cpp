#include "charon/conf_parser.hpp"

#include <fstream>
#include <sstream>

namespace ist::charon {

const ConfNode* ConfNode::child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}
ConfNode* ConfNode::child(std::string_view n) {
  for (auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}
std::optional<std::string> ConfNode::get(std::string_view n) const {
  const ConfNode* c = child(n);
  if (c == nullptr || c->is_section()) return std::nullopt;
  return c->value;
}

namespace {

constexpr std::size_t kMaxDepth = 32;
constexpr std::size_t kMaxSize = 4 * 1024 * 1024;

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool is_name_char(char c) {
  return !is_blank(c) && c != '\n' && c != '{' && c != '}' && c != '=' && c != '#' && c != '"' &&
         c != ':' && c != ',' && static_cast<unsigned char>(c) >= 0x20;
}

class Parser {
 public:
  Parser(std::string_view text, const std::string& file) : s_(text), file_(file) {}

  Result<ConfNode> run() {
    ConfNode root;
    std::vector<ConfNode*> stack{&root};
    std::vector<int> opened{0};
    while (true) {
      skip_space_and_comments();
      if (pos_ >= s_.size()) break;
      const char c = s_[pos_];
      if (c == '}') {
        if (stack.size() == 1) return fail("'}' without an open section");
        stack.pop_back();
        opened.pop_back();
        ++pos_;
        continue;
      }
      const int name_line = line_;
      std::string name = read_name();
      if (name.empty())
        return fail(std::string("expected a name, found '") + printable(c) + "'");
      skip_blanks();
      if (name == "include" && pos_ < s_.size() && s_[pos_] != '=' && s_[pos_] != '{')
        return fail("'include' is not supported: put the included settings into this file");
      if (pos_ >= s_.size()) return fail("'" + name + "' is followed by nothing (expected '=' or '{')");
      if (s_[pos_] == ':')
        return fail("section references ('" + name + " : ...') are not supported: write the section out");
      if (s_[pos_] == '{') {
        ++pos_;
        if (stack.size() > kMaxDepth) return fail("sections nested too deeply");
        ConfNode* parent = stack.back();
        ConfNode* existing = parent->child(name);
        if (existing != nullptr && !existing->is_section())
          return fail("'" + name + "' is a key (line " + std::to_string(existing->line) +
                      ") and a section");
        if (existing == nullptr) {
          parent->children.push_back(ConfNode{name, std::nullopt, {}, name_line});
          existing = &parent->children.back();
        }
        stack.push_back(existing);
        opened.push_back(name_line);
        continue;
      }
      if (s_[pos_] != '=')
        return fail("expected '=' or '{' after '" + name + "', found '" + printable(s_[pos_]) + "'");
      ++pos_;
      IST_TRY_ASSIGN(std::string value, read_value());
      ConfNode* parent = stack.back();
      ConfNode* existing = parent->child(name);
      if (existing != nullptr && existing->is_section())
        return Error(file_ + ":" + std::to_string(name_line) + ": '" + name +
                     "' is a section (line " + std::to_string(existing->line) + ") and a key");
      if (existing != nullptr) {
        existing->value = std::move(value);
        existing->line = name_line;
      } else {
        parent->children.push_back(ConfNode{name, std::move(value), {}, name_line});
      }
    }
    if (stack.size() > 1)
      return Error(file_ + ":" + std::to_string(opened.back()) + ": section '" + stack.back()->name +
                   "' is not closed (missing '}')");
    return root;
  }

 private:
  static std::string printable(char c) {
    if (c == '\n') return "end of line";
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned char>(c));
      return buf;
    }
    return std::string(1, c);
  }
  Error fail(const std::string& what) const {
    return Error(file_ + ":" + std::to_string(line_) + ": " + what);
  }
  void skip_blanks() {
    while (pos_ < s_.size() && is_blank(s_[pos_])) ++pos_;
  }
  void skip_space_and_comments() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (is_blank(c)) {
        ++pos_;
      } else if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  std::string read_name() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    return std::string(s_.substr(start, pos_ - start));
  }
  Result<std::string> read_value() {
    skip_blanks();
    if (pos_ < s_.size() && s_[pos_] == '"') {
      const int start_line = line_;
      ++pos_;
      std::string out;
      while (true) {
        if (pos_ >= s_.size())
          return Error(file_ + ":" + std::to_string(start_line) + ": quoted value is not closed");
        const char c = s_[pos_++];
        if (c == '"') break;
        if (c == '\n') ++line_;
        if (c == '\\' && pos_ < s_.size()) {
          const char e = s_[pos_++];
          switch (e) {
            case 'n': out += '\n'; break;
            case 't': out += '\t'; break;
            case '\n': ++line_; break;  // line continuation
            default: out += e; break;
          }
          continue;
        }
        out += c;
      }
      skip_blanks();
      if (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '#' && s_[pos_] != '}')
        return fail(std::string("unexpected '") + printable(s_[pos_]) + "' after a quoted value");
      return out;
    }
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '#') {
      if (s_[pos_] == '\0') return fail("NUL byte in a value");
      ++pos_;
    }
    std::string_view v = s_.substr(start, pos_ - start);
    // A closing brace on the same line ends the value ("a = 1 }" is accepted by charon).
    std::size_t brace = v.find('}');
    if (brace != std::string_view::npos) {
      pos_ = start + brace;
      v = v.substr(0, brace);
    }
    while (!v.empty() && is_blank(v.back())) v.remove_suffix(1);
    return std::string(v);
  }

  std::string_view s_;
  const std::string& file_;
  std::size_t pos_ = 0;
  int line_ = 1;
};

}  // namespace

Result<ConfNode> parse_conf_text(std::string_view text, const std::string& file) {
  if (text.size() > kMaxSize) return Error(file + ": larger than 4 MiB; not a configuration file");
  return Parser(text, file).run();
}

Result<ConfNode> parse_conf_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Error("cannot read " + path, errno);
  std::stringstream ss;
  ss << f.rdbuf();
  return parse_conf_text(ss.str(), path);
}

std::vector<std::string> split_conf_list(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view item = value.substr(start, comma - start);
    while (!item.empty() && is_blank(item.front())) item.remove_prefix(1);
    while (!item.empty() && is_blank(item.back())) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = comma + 1;
  }
  return out;
}

}  // namespace ist::charon
