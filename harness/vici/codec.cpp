#include "vici/codec.hpp"

#include <cerrno>
#include <cstring>
#include <vector>

namespace ist::vici {

std::string_view to_string(PacketType t) {
  switch (t) {
    case PacketType::cmd_request: return "CMD_REQUEST";
    case PacketType::cmd_response: return "CMD_RESPONSE";
    case PacketType::cmd_unknown: return "CMD_UNKNOWN";
    case PacketType::event_register: return "EVENT_REGISTER";
    case PacketType::event_unregister: return "EVENT_UNREGISTER";
    case PacketType::event_confirm: return "EVENT_CONFIRM";
    case PacketType::event_unknown: return "EVENT_UNKNOWN";
    case PacketType::event: return "EVENT";
  }
  return "?";
}

bool packet_has_name(PacketType t) {
  return t == PacketType::cmd_request || t == PacketType::event_register ||
         t == PacketType::event_unregister || t == PacketType::event;
}

bool packet_has_message(PacketType t) {
  return t == PacketType::cmd_request || t == PacketType::cmd_response || t == PacketType::event;
}

// ---------------------------------------------------------------- encoding

namespace {

void put_u8(std::string& out, std::size_t v) { out.push_back(static_cast<char>(v)); }
void put_u16(std::string& out, std::size_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  out.append(b, 2);
}
void put_u32_at(std::string& out, std::size_t at, uint32_t v) {
  out[at] = static_cast<char>(v >> 24);
  out[at + 1] = static_cast<char>(v >> 16);
  out[at + 2] = static_cast<char>(v >> 8);
  out[at + 3] = static_cast<char>(v);
}

Status put_name(std::string& out, ElementType type, const std::string& name) {
  if (name.size() > kMaxNameLength)
    return Error("vici name of " + std::to_string(name.size()) + " bytes exceeds 255: '" +
                 name.substr(0, 40) + "...'");
  put_u8(out, static_cast<uint8_t>(type));
  put_u8(out, name.size());
  out.append(name);
  return ok();
}

Status put_blob(std::string& out, const std::string& v, const std::string& owner) {
  if (v.size() > kMaxValueLength)
    return Error("vici value of '" + owner + "' has " + std::to_string(v.size()) +
                 " bytes, more than 65535");
  put_u16(out, v.size());
  out.append(v);
  return ok();
}

Status append_elements(const Message& m, std::string& out) {
  for (const auto& e : m.elements()) {
    switch (e.kind) {
      case Element::Kind::value:
        IST_TRY(put_name(out, ElementType::key_value, e.name));
        IST_TRY(put_blob(out, e.value, e.name));
        break;
      case Element::Kind::list:
        IST_TRY(put_name(out, ElementType::list_start, e.name));
        for (const auto& item : e.items) {
          put_u8(out, static_cast<uint8_t>(ElementType::list_item));
          IST_TRY(put_blob(out, item, e.name));
        }
        put_u8(out, static_cast<uint8_t>(ElementType::list_end));
        break;
      case Element::Kind::section:
        IST_TRY(put_name(out, ElementType::section_start, e.name));
        IST_TRY(append_elements(*e.section, out));
        put_u8(out, static_cast<uint8_t>(ElementType::section_end));
        break;
    }
  }
  return ok();
}

}  // namespace

Status append_message(const Message& m, std::string& out) { return append_elements(m, out); }

Result<std::string> encode_message(const Message& m) {
  std::string out;
  IST_TRY(append_elements(m, out));
  return out;
}

Status append_packet(std::string& out, PacketType type, std::string_view name,
                     const Message* message, std::size_t max_packet_size) {
  const std::size_t start = out.size();
  out.append(4, '\0');
  put_u8(out, static_cast<uint8_t>(type));
  auto undo = [&](Error e) {
    out.resize(start);
    return e;
  };
  if (packet_has_name(type)) {
    if (name.size() > kMaxNameLength)
      return undo(Error("vici packet name exceeds 255 bytes"));
    put_u8(out, name.size());
    out.append(name);
  }
  if (packet_has_message(type) && message) {
    auto st = append_elements(*message, out);
    if (!st) return undo(std::move(st).error());
  }
  const std::size_t payload = out.size() - start - 4;
  if (payload > max_packet_size)
    return undo(Error("vici " + std::string(to_string(type)) + " '" + std::string(name) +
                      "' is " + std::to_string(payload) + " bytes, over the limit of " +
                      std::to_string(max_packet_size)));
  put_u32_at(out, start, static_cast<uint32_t>(payload));
  return ok();
}

Result<std::string> encode_packet(PacketType type, std::string_view name, const Message* message,
                                  std::size_t max_packet_size) {
  std::string out;
  IST_TRY(append_packet(out, type, name, message, max_packet_size));
  return out;
}

// ---------------------------------------------------------------- decoding

namespace {

Error bad(std::string what, std::size_t offset) {
  return Error("vici decode: " + what + " at byte " + std::to_string(offset), EPROTO);
}

class Cursor {
 public:
  Cursor(std::string_view b, std::size_t base) : b_(b), base_(base) {}
  bool done() const { return pos_ >= b_.size(); }
  std::size_t offset() const { return base_ + pos_; }
  std::size_t left() const { return b_.size() - pos_; }

  Result<uint8_t> u8(const char* what) {
    if (left() < 1) return bad(std::string("truncated ") + what, offset());
    return static_cast<uint8_t>(b_[pos_++]);
  }
  // u8 length + bytes
  Result<std::string_view> name(const char* what) {
    const auto at = offset();
    if (left() < 1) return bad(std::string("truncated length of ") + what, at);
    std::size_t n = static_cast<uint8_t>(b_[pos_]);
    if (left() - 1 < n)
      return bad(std::string(what) + " of " + std::to_string(n) + " bytes runs past the end", at);
    auto v = b_.substr(pos_ + 1, n);
    pos_ += 1 + n;
    return v;
  }
  // u16 big-endian length + bytes
  Result<std::string_view> blob(const char* what) {
    const auto at = offset();
    if (left() < 2) return bad(std::string("truncated length of ") + what, at);
    std::size_t n = static_cast<std::size_t>(static_cast<uint8_t>(b_[pos_])) << 8 |
                    static_cast<uint8_t>(b_[pos_ + 1]);
    if (left() - 2 < n)
      return bad(std::string(what) + " of " + std::to_string(n) + " bytes runs past the end", at);
    auto v = b_.substr(pos_ + 2, n);
    pos_ += 2 + n;
    return v;
  }

 private:
  std::string_view b_;
  std::size_t base_;
  std::size_t pos_ = 0;
};

}  // namespace

Result<Message> decode_message(std::string_view bytes, const DecodeLimits& limits,
                               std::size_t base_offset) {
  Message root;
  std::vector<Message*> stack{&root};  // open sections, innermost last
  std::vector<std::string>* list = nullptr;  // the open list, if any
  Cursor c(bytes, base_offset);
  while (!c.done()) {
    const std::size_t at = c.offset();
    IST_TRY_ASSIGN(uint8_t type, c.u8("element type"));
    if (list && type != static_cast<uint8_t>(ElementType::list_item) &&
        type != static_cast<uint8_t>(ElementType::list_end))
      return bad("element type " + std::to_string(type) + " inside a list", at);
    switch (static_cast<ElementType>(type)) {
      case ElementType::section_start: {
        IST_TRY_ASSIGN(auto name, c.name("section name"));
        if (stack.size() > limits.max_depth)
          return bad("sections nested deeper than " + std::to_string(limits.max_depth), at);
        Element e;
        e.kind = Element::Kind::section;
        e.name.assign(name);
        e.section = std::make_unique<Message>();
        Message* sub = e.section.get();
        stack.back()->push_back(std::move(e));
        stack.push_back(sub);
        break;
      }
      case ElementType::section_end:
        if (stack.size() == 1) return bad("SECTION_END without an open section", at);
        stack.pop_back();
        break;
      case ElementType::key_value: {
        IST_TRY_ASSIGN(auto name, c.name("key name"));
        IST_TRY_ASSIGN(auto value, c.blob("value"));
        Element e;
        e.kind = Element::Kind::value;
        e.name.assign(name);
        e.value.assign(value);
        stack.back()->push_back(std::move(e));
        break;
      }
      case ElementType::list_start: {
        if (list) return bad("LIST_START inside a list", at);
        IST_TRY_ASSIGN(auto name, c.name("list name"));
        Element e;
        e.kind = Element::Kind::list;
        e.name.assign(name);
        list = &stack.back()->push_back(std::move(e)).items;
        break;
      }
      case ElementType::list_item: {
        if (!list) return bad("LIST_ITEM outside a list", at);
        IST_TRY_ASSIGN(auto value, c.blob("list item"));
        list->emplace_back(value);
        break;
      }
      case ElementType::list_end:
        if (!list) return bad("LIST_END without an open list", at);
        list = nullptr;
        break;
      default:
        return bad("unknown element type " + std::to_string(type), at);
    }
  }
  if (list) return bad("unterminated list", c.offset());
  if (stack.size() > 1)
    return bad(std::to_string(stack.size() - 1) + " unterminated section(s)", c.offset());
  return root;
}

Result<Packet> decode_packet(std::string_view payload, const DecodeLimits& limits,
                             std::size_t base_offset) {
  if (payload.size() > limits.max_packet_size)
    return bad("packet of " + std::to_string(payload.size()) + " bytes over the limit of " +
                   std::to_string(limits.max_packet_size),
               base_offset);
  Cursor c(payload, base_offset);
  IST_TRY_ASSIGN(uint8_t type, c.u8("packet type"));
  if (type > static_cast<uint8_t>(PacketType::event))
    return bad("unknown packet type " + std::to_string(type), base_offset);
  Packet p;
  p.type = static_cast<PacketType>(type);
  if (packet_has_name(p.type)) {
    IST_TRY_ASSIGN(auto name, c.name("packet name"));
    p.name.assign(name);
  }
  const std::size_t body = payload.size() - c.left();
  if (packet_has_message(p.type)) {
    IST_TRY_ASSIGN(p.message, decode_message(payload.substr(body), limits, base_offset + body));
  } else if (c.left() != 0) {
    return bad(std::to_string(c.left()) + " unexpected byte(s) after " +
                   std::string(to_string(p.type)),
               c.offset());
  }
  return p;
}

// ---------------------------------------------------------------- framing

void FrameReader::compact() {
  if (pos_ == 0) return;
  std::memmove(buf_.data(), buf_.data() + pos_, end_ - pos_);
  consumed_ += pos_;
  end_ -= pos_;
  pos_ = 0;
}

char* FrameReader::prepare(std::size_t n) {
  // Drop what was returned already once it is the bigger part of the buffer.
  if (pos_ > 0 && pos_ >= end_ - pos_) compact();
  if (buf_.size() < end_ + n) buf_.resize(end_ + n);
  return buf_.data() + end_;
}

void FrameReader::commit(std::size_t n) { end_ += n; }

void FrameReader::feed(std::string_view bytes) {
  std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
  commit(bytes.size());
}

Result<std::optional<std::string_view>> FrameReader::next() {
  if (failed_) return *failed_;
  const std::size_t avail = end_ - pos_;
  if (avail < 4) return std::optional<std::string_view>();
  const auto* h = reinterpret_cast<const unsigned char*>(buf_.data() + pos_);
  const std::size_t len = static_cast<std::size_t>(h[0]) << 24 |
                          static_cast<std::size_t>(h[1]) << 16 |
                          static_cast<std::size_t>(h[2]) << 8 | h[3];
  if (len > max_) {
    failed_ = bad("frame length " + std::to_string(len) + " over the limit of " +
                      std::to_string(max_),
                  stream_offset());
    return *failed_;
  }
  if (len == 0) {
    failed_ = bad("empty frame (no packet type)", stream_offset());
    return *failed_;
  }
  if (avail - 4 < len) return std::optional<std::string_view>();
  payload_offset_ = stream_offset() + 4;
  std::string_view payload(buf_.data() + pos_ + 4, len);
  pos_ += 4 + len;
  return std::optional<std::string_view>(payload);
}

}  // namespace ist::vici
