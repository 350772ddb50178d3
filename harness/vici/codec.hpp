#pragma once
// vici wire codec (strongSwan's src/libcharon/plugins/vici/README.md):
//   frame   = u32 big-endian payload length, payload
//   payload = u8 packet type, [u8 name length, name] for named types, [message]
//   message = elements: SECTION_START=1 name | SECTION_END=2 | KEY_VALUE=3 name u16-len value
//             | LIST_START=4 name | LIST_ITEM=5 u16-len value | LIST_END=6
// Decoding never trusts a length it has not checked against the bytes present and the
// configured limits; every error names the byte offset where decoding stopped.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "vici/message.hpp"

namespace ist::vici {

enum class PacketType : uint8_t {
  cmd_request = 0,
  cmd_response = 1,
  cmd_unknown = 2,
  event_register = 3,
  event_unregister = 4,
  event_confirm = 5,
  event_unknown = 6,
  event = 7,
};

enum class ElementType : uint8_t {
  section_start = 1,
  section_end = 2,
  key_value = 3,
  list_start = 4,
  list_item = 5,
  list_end = 6,
};

std::string_view to_string(PacketType t);
bool packet_has_name(PacketType t);     // CMD_REQUEST, EVENT_(UN)REGISTER, EVENT
bool packet_has_message(PacketType t);  // CMD_REQUEST, CMD_RESPONSE, EVENT

// strongSwan refuses (and silently drops) frames above 512 KiB in either direction.
inline constexpr std::size_t kDefaultMaxPacketSize = 512 * 1024;
inline constexpr std::size_t kMaxNameLength = 255;
inline constexpr std::size_t kMaxValueLength = 65535;

struct DecodeLimits {
  std::size_t max_packet_size = kDefaultMaxPacketSize;  // payload bytes, without the header
  std::size_t max_depth = 64;  // nested sections; keeps recursive walkers off deep stacks
};

struct Packet {
  PacketType type = PacketType::cmd_request;
  std::string name;  // empty for unnamed types
  Message message;   // empty for types without a message
  bool operator==(const Packet&) const = default;
};

// ---- encoding. Fails when a name exceeds 255 bytes, a value 65535 bytes, or the payload
// the limit.
Status append_message(const Message& m, std::string& out);
Result<std::string> encode_message(const Message& m);
// Appends one whole frame (length header included).
Status append_packet(std::string& out, PacketType type, std::string_view name,
                     const Message* message, std::size_t max_packet_size = kDefaultMaxPacketSize);
Result<std::string> encode_packet(PacketType type, std::string_view name,
                                  const Message* message = nullptr,
                                  std::size_t max_packet_size = kDefaultMaxPacketSize);

// ---- decoding. `base_offset` is added to offsets in error messages (the position of
// `bytes` in the stream).
Result<Message> decode_message(std::string_view bytes, const DecodeLimits& limits = {},
                               std::size_t base_offset = 0);
// One frame payload (without the length header).
Result<Packet> decode_packet(std::string_view payload, const DecodeLimits& limits = {},
                             std::size_t base_offset = 0);

// Splits a byte stream into frames. Feed it what the socket gave; next() yields complete
// payloads. Buffers at most one frame plus what was fed beyond it; a header announcing
// more than the limit is an error at once (nothing is allocated for it).
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_packet_size = kDefaultMaxPacketSize)
      : max_(max_packet_size) {}

  void feed(std::string_view bytes);
  // Writable space for reading straight from a socket: prepare(n), read, commit(got).
  char* prepare(std::size_t n);
  void commit(std::size_t n);

  // The next complete payload (valid until the next call), nullopt when more bytes are
  // needed, or an Error for a bad header. After an error the reader stays failed.
  Result<std::optional<std::string_view>> next();
  // Stream offset of the payload last returned by next() (its first byte).
  std::size_t payload_offset() const { return payload_offset_; }
  // Bytes buffered but not yet returned (a partial frame at EOF means truncation).
  std::size_t buffered() const { return end_ - pos_; }
  std::size_t stream_offset() const { return consumed_ + pos_; }

 private:
  void compact();
  std::size_t max_;
  std::string buf_;              // storage; bytes [pos_, end_) are unread
  std::size_t pos_ = 0;
  std::size_t end_ = 0;
  std::size_t consumed_ = 0;     // stream bytes dropped from buf_ by compaction
  std::size_t payload_offset_ = 0;
  std::optional<Error> failed_;
};

}  // namespace ist::vici
