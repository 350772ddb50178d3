#include "vici/message.hpp"

#include <cctype>

namespace ist::vici {

Element::Element(const Element& other)
    : kind(other.kind),
      name(other.name),
      value(other.value),
      items(other.items),
      section(other.section ? std::make_unique<Message>(*other.section) : nullptr) {}

Element& Element::operator=(const Element& other) {
  if (this != &other) *this = Element(other);
  return *this;
}

Element::~Element() = default;

bool Element::operator==(const Element& other) const {
  if (kind != other.kind || name != other.name) return false;
  switch (kind) {
    case Kind::value: return value == other.value;
    case Kind::list: return items == other.items;
    case Kind::section: return *section == *other.section;
  }
  return false;
}

Element* Message::find_mut(std::string_view name) {
  for (auto& e : elements_)
    if (e.name == name) return &e;
  return nullptr;
}

const Element* Message::find(std::string_view name) const {
  for (const auto& e : elements_)
    if (e.name == name) return &e;
  return nullptr;
}

// The element called `name`, reset to `kind` (created at the end when missing).
Element& Message::slot(std::string_view name, Element::Kind kind) {
  Element* e = find_mut(name);
  if (!e) {
    e = &elements_.emplace_back();
    e->name.assign(name);
  }
  if (e->kind != kind) {
    e->value.clear();
    e->items.clear();
    e->section.reset();
  }
  e->kind = kind;
  if (kind == Element::Kind::section && !e->section) e->section = std::make_unique<Message>();
  return *e;
}

Message& Message::set(std::string_view key, std::string_view value) {
  slot(key, Element::Kind::value).value.assign(value);
  return *this;
}

Message& Message::section(std::string_view name) {
  Element* e = find_mut(name);
  if (e && e->kind == Element::Kind::section) return *e->section;
  return *slot(name, Element::Kind::section).section;
}

Message& Message::set_section(std::string_view name, Message body) {
  *slot(name, Element::Kind::section).section = std::move(body);
  return *this;
}

Message& Message::list(std::string_view name, std::initializer_list<std::string_view> items) {
  auto& e = slot(name, Element::Kind::list);
  e.items.assign(items.begin(), items.end());
  return *this;
}

Message& Message::list(std::string_view name, const std::vector<std::string>& items) {
  slot(name, Element::Kind::list).items = items;
  return *this;
}

Message& Message::append(std::string_view list_name, std::string_view item) {
  Element* e = find_mut(list_name);
  if (!e || e->kind != Element::Kind::list) e = &slot(list_name, Element::Kind::list);
  e->items.emplace_back(item);
  return *this;
}

bool Message::remove(std::string_view name) {
  for (auto it = elements_.begin(); it != elements_.end(); ++it) {
    if (it->name == name) {
      elements_.erase(it);
      return true;
    }
  }
  return false;
}

Element& Message::push_back(Element element) { return elements_.emplace_back(std::move(element)); }

std::optional<std::string_view> Message::get(std::string_view key) const {
  for (const auto& e : elements_)
    if (e.kind == Element::Kind::value && e.name == key) return std::string_view(e.value);
  return std::nullopt;
}

std::string Message::get_or(std::string_view key, std::string_view fallback) const {
  auto v = get(key);
  return std::string(v ? *v : fallback);
}

const Message* Message::find_section(std::string_view name) const {
  for (const auto& e : elements_)
    if (e.kind == Element::Kind::section && e.name == name) return e.section.get();
  return nullptr;
}

Message* Message::find_section(std::string_view name) {
  for (auto& e : elements_)
    if (e.kind == Element::Kind::section && e.name == name) return e.section.get();
  return nullptr;
}

const std::vector<std::string>* Message::find_list(std::string_view name) const {
  for (const auto& e : elements_)
    if (e.kind == Element::Kind::list && e.name == name) return &e.items;
  return nullptr;
}

std::optional<std::string_view> Message::get_path(std::string_view dotted) const {
  const Message* m = this;
  while (true) {
    auto dot = dotted.find('.');
    if (dot == std::string_view::npos) return m->get(dotted);
    m = m->find_section(dotted.substr(0, dot));
    if (!m) return std::nullopt;
    dotted.remove_prefix(dot + 1);
  }
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  const auto n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += len;
  }
  return true;
}

namespace {

constexpr std::string_view kHexKey = "$hex";

nlohmann::ordered_json blob_to_json(const std::string& v) {
  if (is_valid_utf8(v)) return v;
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(v.size() * 2);
  for (unsigned char c : v) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 15]);
  }
  nlohmann::ordered_json o = nlohmann::ordered_json::object();
  o[std::string(kHexKey)] = hex;
  return o;
}

bool is_hex_text(const std::string& s) {
  if (s.size() % 2) return false;
  for (char c : s)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// {"$hex": "<even number of hex digits>"}; anything else with that key is a plain section.
bool is_hex_blob(const nlohmann::ordered_json& j) {
  return j.is_object() && j.size() == 1 && j.contains(std::string(kHexKey)) &&
         j.begin().value().is_string() && is_hex_text(j.begin().value().get<std::string>());
}

// Names are ASCII in practice; invalid UTF-8 would make the JSON unprintable, so such
// bytes are shown as \xNN (lossy, for debugging output only).
std::string json_key(const std::string& name) {
  if (is_valid_utf8(name)) return name;
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : name) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
  }
  return out;
}

Result<std::string> hex_to_blob(const std::string& hex, const std::string& where) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return Error("odd number of hex digits in " + where);
  std::string out;
  out.reserve(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return Error("not a hex digit in " + where);
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

// A scalar JSON value as a vici blob (numbers and booleans as vici spells them).
Result<std::string> scalar_to_blob(const nlohmann::ordered_json& j, const std::string& where) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return std::string(j.get<bool>() ? "yes" : "no");
  if (j.is_number_integer()) return j.dump();
  if (j.is_number()) return j.dump();
  if (is_hex_blob(j)) return hex_to_blob(j.begin().value().get<std::string>(), where);
  return Error(where + " must be a string, number, boolean or {\"$hex\": ...}");
}

Status fill_from_json(Message& m, const nlohmann::ordered_json& j, const std::string& path,
                      int depth) {
  if (depth > 64) return Error("JSON nested deeper than 64 sections at " + path);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string where = path.empty() ? it.key() : path + "." + it.key();
    const auto& v = it.value();
    if (v.is_object() && !is_hex_blob(v)) {
      Message sub;
      IST_TRY(fill_from_json(sub, v, where, depth + 1));
      m.set_section(it.key(), std::move(sub));
    } else if (v.is_array()) {
      std::vector<std::string> items;
      for (std::size_t i = 0; i < v.size(); ++i) {
        IST_TRY_ASSIGN(auto item, scalar_to_blob(v[i], where + "[" + std::to_string(i) + "]"));
        items.push_back(std::move(item));
      }
      m.list(it.key(), items);
    } else if (v.is_null()) {
      return Error(where + " is null");
    } else {
      IST_TRY_ASSIGN(auto blob, scalar_to_blob(v, where));
      m.set(it.key(), blob);
    }
  }
  return ok();
}

}  // namespace

nlohmann::ordered_json Message::to_json() const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& e : elements_) {
    switch (e.kind) {
      case Element::Kind::value: out[json_key(e.name)] = blob_to_json(e.value); break;
      case Element::Kind::list: {
        auto arr = nlohmann::ordered_json::array();
        for (const auto& item : e.items) arr.push_back(blob_to_json(item));
        out[json_key(e.name)] = std::move(arr);
        break;
      }
      case Element::Kind::section: out[json_key(e.name)] = e.section->to_json(); break;
    }
  }
  return out;
}

Result<Message> Message::from_json(const nlohmann::ordered_json& j) {
  if (!j.is_object()) return Error("a vici message must be a JSON object");
  Message m;
  IST_TRY(fill_from_json(m, j, "", 0));
  return m;
}

}  // namespace ist::vici
