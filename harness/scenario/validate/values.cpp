// Single values: text, names, counts, numbers, durations, rates, shares, words, lists.
#include "scenario/validate/reader.hpp"

#include <algorithm>
#include <cstdio>

#include "scenario/units.hpp"

namespace ist::scenario::validation {

// The value as quoted in messages: short, printable.
std::string quoted(const Node& n) {
  std::string t = n.text();
  if (t.size() > 60) t = t.substr(0, 57) + "...";
  for (char& c : t) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return "'" + t + "'";
}

std::string got(const Node& n) {
  switch (n.kind) {
    case Node::Kind::null: return "got no value";
    case Node::Kind::sequence: return "got a list";
    case Node::Kind::map: return "got a map";
    case Node::Kind::scalar: return "got " + quoted(n);
  }
  return "";
}

std::string join(std::string_view a, std::string_view b) {
  return a.empty() ? std::string(b) : std::string(a) + "." + std::string(b);
}

void MapReader::finish() {
  if (node_ == nullptr || !node_->is_map()) return;
  for (const auto& e : node_->entries) {
    if (std::find(known_.begin(), known_.end(), e.key) != known_.end()) continue;
    std::string where = path_.empty() ? "at top level" : "in " + path_;
    const std::string via = e.added_by.empty() ? "" : e.added_by + ": ";
    diag_.add(e.key_origin,
              via + "unknown key '" + e.key + "' " + where + did_you_mean(e.key, known_));
  }
}

void Validator::bad(const Node& n, const std::string& path, const std::string& what,
                    const std::string& reason) {
  std::string msg = path + ": expected " + what + ", " + got(n);
  if (!reason.empty()) msg += ": " + reason;
  diag_.add(n.origin, std::move(msg));
}

bool Validator::need_scalar(const Node& n, const std::string& path, const std::string& what) {
  if (n.is_scalar()) return true;
  bad(n, path, what);
  return false;
}

void Validator::read_string(const Node& n, const std::string& path, std::string& out, bool allow_empty) {
  if (!need_scalar(n, path, "text")) return;
  if (!allow_empty && n.scalar.empty()) {
    bad(n, path, "non-empty text");
    return;
  }
  out = n.scalar;
}

void Validator::read_name(const Node* n, std::string& out) {
  if (n == nullptr) return;
  const std::string what = "a name of 1-64 letters, digits, '.', '_' or '-'";
  if (!need_scalar(*n, "name", what)) return;
  const auto& v = n->scalar;
  const bool ok = !v.empty() && v.size() <= 64 && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
  });
  if (!ok) {
    bad(*n, "name", what, "it names the output folder");
    return;
  }
  out = v;
}

void Validator::read_count(const Node* n, const std::string& path, std::uint64_t lo, std::uint64_t hi,
                           std::uint64_t& out, const std::string& out_of_range) {
  if (n == nullptr) return;
  const std::string what = hi == UINT64_MAX
                               ? "a whole number"
                               : "a whole number from " + std::to_string(lo) + " to " + std::to_string(hi);
  if (!need_scalar(*n, path, what)) return;
  auto v = parse_count(n->scalar);
  if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
  const auto x = std::get<std::uint64_t>(v);
  if (x < lo || x > hi) return bad(*n, path, what, out_of_range);
  out = x;
}

void Validator::read_number(const Node* n, const std::string& path, double lo, double hi, double& out) {
  if (n == nullptr) return;
  char what[96];
  std::snprintf(what, sizeof what, "a number from %g to %g", lo, hi);
  if (!need_scalar(*n, path, what)) return;
  auto v = parse_number(n->scalar);
  if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
  const double x = std::get<double>(v);
  if (x < lo || x > hi) return bad(*n, path, what, "out of range");
  out = x;
}

bool Validator::read_duration(const Node* n, const std::string& path, milliseconds lo, milliseconds& out) {
  if (n == nullptr) return false;
  const std::string what = "a duration like 30s, 5m or 8h (" + format_duration(lo) + " to 30 days)";
  if (!need_scalar(*n, path, what)) return false;
  auto v = parse_duration(n->scalar);
  if (auto* why = std::get_if<std::string>(&v)) {
    bad(*n, path, what, *why);
    return false;
  }
  const auto d = std::get<milliseconds>(v);
  if (d < lo || d > kMaxDuration) {
    bad(*n, path, what, "out of range");
    return false;
  }
  out = d;
  return true;
}

void Validator::read_rate(const Node* n, const std::string& path, double& out) {
  if (n == nullptr) return;
  const std::string what = "a rate like 200/s or 30/m (above 0, at most 1000000/s)";
  if (!need_scalar(*n, path, what)) return;
  auto v = parse_rate(n->scalar);
  if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
  const double r = std::get<double>(v);
  if (!(r > 0) || r > kMaxRate) return bad(*n, path, what, "out of range");
  out = r;
}

void Validator::read_share(const Node* n, const std::string& path, bool allow_zero, double& out) {
  if (n == nullptr) return;
  const std::string what = allow_zero ? "a share from 0% to 100%" : "a share above 0%, at most 100%";
  if (!need_scalar(*n, path, what)) return;
  auto v = parse_share(n->scalar);
  if (auto* why = std::get_if<std::string>(&v)) return bad(*n, path, what, *why);
  const double f = std::get<double>(v);
  if (f > 1 || (!allow_zero && f <= 0)) return bad(*n, path, what, "out of range");
  out = f;
}

void Validator::read_bool(const Node* n, const std::string& path, bool& out) {
  if (n == nullptr) return;
  if (!need_scalar(*n, path, "true or false")) return;
  auto v = parse_bool(n->scalar);
  if (std::holds_alternative<std::string>(v)) return bad(*n, path, "true or false");
  out = std::get<bool>(v);
}

// One word from a fixed list; a misspelling gets the nearest.
void Validator::read_word(const Node* n, const std::string& path, const std::vector<std::string>& choices,
                          std::string& out) {
  if (n == nullptr) return;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  const std::string what = "one of " + list;
  if (!need_scalar(*n, path, what)) return;
  if (std::find(choices.begin(), choices.end(), n->scalar) != choices.end()) {
    out = n->scalar;
    return;
  }
  auto near = nearest(n->scalar, choices);
  bad(*n, path, what, near ? "did you mean '" + *near + "'?" : "");
}

// Items of a list key; a single map is taken as a list of one.
std::vector<const Node*> Validator::list_items(const Node* n, const std::string& path, const std::string& what) {
  std::vector<const Node*> items;
  if (n == nullptr || n->is_null()) return items;
  if (n->is_map()) {
    items.push_back(n);
  } else if (n->is_sequence()) {
    if (n->items.size() > 64) {
      bad(*n, path, what, "at most 64 entries");
      return {};
    }
    for (const auto& i : n->items) items.push_back(&i);
  } else {
    bad(*n, path, what);
  }
  return items;
}

}  // namespace ist::scenario::validation
