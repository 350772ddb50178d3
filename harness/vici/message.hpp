#pragma once
// The vici message tree: a section holds, in order, named key/values (binary-safe blobs),
// lists of blobs and sub-sections. The root section is the message itself.
//
//   Message m;
//   m.set("version", "2");
//   auto& c = m.section("conn-1");
//   c.list("local_addrs", {"198.19.0.1"});
//   c.section("children").section("net").set("start_action", "none");
//
// Keys are unique per section when built through set/section/list (setting an existing
// name replaces it in place, keeping its position). Decoded messages keep whatever the
// peer sent, duplicates included; readers return the first match.
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace ist::vici {

class Message;

// One named entry of a section.
struct Element {
  enum class Kind : uint8_t { value, list, section };

  Kind kind = Kind::value;
  std::string name;
  std::string value;                 // Kind::value
  std::vector<std::string> items;    // Kind::list
  std::unique_ptr<Message> section;  // Kind::section (never null for that kind)

  Element() = default;
  Element(const Element& other);
  Element& operator=(const Element& other);
  Element(Element&&) noexcept = default;
  Element& operator=(Element&&) noexcept = default;
  ~Element();
  bool operator==(const Element& other) const;
};

class Message {
 public:
  Message() = default;

  // ---- building (each returns *this for chaining unless it returns the new section)
  Message& set(std::string_view key, std::string_view value);
  template <std::integral T>
    requires(!std::same_as<T, bool> && !std::same_as<T, char>)
  Message& set(std::string_view key, T number) {
    return set(key, std::string_view(std::to_string(number)));
  }
  // vici's booleans are "yes"/"no".
  template <class T>
    requires std::same_as<T, bool>
  Message& set(std::string_view key, T flag) {
    return set(key, std::string_view(flag ? "yes" : "no"));
  }
  // The sub-section `name`, created empty at the end if missing.
  Message& section(std::string_view name);
  // Puts a prebuilt sub-section under `name` (replacing one of that name). Returns *this.
  Message& set_section(std::string_view name, Message body);
  Message& list(std::string_view name, std::initializer_list<std::string_view> items);
  Message& list(std::string_view name, const std::vector<std::string>& items);
  // Adds one item to list `name`, creating the list if missing.
  Message& append(std::string_view list_name, std::string_view item);
  bool remove(std::string_view name);
  // Appends without looking for an existing name: for decoders and bulk builders that
  // already know names are unique.
  Element& push_back(Element element);

  // ---- reading
  std::optional<std::string_view> get(std::string_view key) const;
  std::string get_or(std::string_view key, std::string_view fallback) const;
  const Message* find_section(std::string_view name) const;
  Message* find_section(std::string_view name);
  const std::vector<std::string>* find_list(std::string_view name) const;
  const Element* find(std::string_view name) const;
  // Follows sections by a dotted path to a value: get_path("workers.active.low").
  std::optional<std::string_view> get_path(std::string_view dotted) const;

  const std::vector<Element>& elements() const { return elements_; }
  std::vector<Element>& elements() { return elements_; }
  std::size_t size() const { return elements_.size(); }
  bool empty() const { return elements_.empty(); }
  void clear() { elements_.clear(); }

  bool operator==(const Message& other) const { return elements_ == other.elements_; }

  // ---- JSON (debugging, CLI, fixtures). Keys keep their order. Values that are not valid
  // UTF-8 become {"$hex": "..."} so any message converts; from_json accepts that form too.
  nlohmann::ordered_json to_json() const;
  static Result<Message> from_json(const nlohmann::ordered_json& j);

 private:
  Element* find_mut(std::string_view name);
  Element& slot(std::string_view name, Element::Kind kind);
  std::vector<Element> elements_;
};

bool is_valid_utf8(std::string_view s);

}  // namespace ist::vici
