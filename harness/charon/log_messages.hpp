#pragma once
// charon's message texts (what follows `NN[GRP] <conn|uid> ` on a log line) -> what the line
// says, as one table: each row is a pattern, the event kind it gives, the strongSwan 5.9.8
// format string it matches with its source line, and a message charon really logged.
// Adding a recognised message is adding a row (log_messages.cpp); parse_log_line() uses
// classify_message_text() for every line.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "charon/log_parser.hpp"

namespace ist::charon {

// How a row's `prefix` and `tail` are compared with a message.
enum class MessageMatch : uint8_t {
  prefix,    // the message starts with `prefix`
  exact,     // the message is `prefix`
  contains,  // starts with `prefix`, `tail` occurs after it
  suffix,    // starts with `prefix`, ends with `tail`
};

struct MessageRule;

// Reads the row's fields (address, local, detail, number, ...) from the message, or refuses it
// (false) when the text is not what the row means; then the next row is tried. `tail_at` is
// where `tail` was found (contains/suffix), else the end of `prefix`. Writes nothing when it
// refuses.
using MessageFieldReader = bool (*)(std::string_view message, const MessageRule& rule,
                                    std::size_t tail_at, LogEvent& e);

struct MessageRule {
  // Rows are tried for messages whose first byte is `prefix[0]`; a row with an empty prefix
  // names its first bytes here instead ("" with an empty prefix: any first byte).
  std::string_view first_bytes;
  std::string_view prefix;
  MessageMatch match = MessageMatch::prefix;
  std::string_view tail;
  LogEventKind kind = LogEventKind::other;
  LogRole role = LogRole::unknown;
  LogSa sa = LogSa::none;
  MessageFieldReader read = nullptr;  // nullptr: the kind says everything
  // strongSwan 5.9.8: the format string (DBG level and group) and where it is logged
  // (paths under src/libcharon/ unless they start with src/).
  std::string_view format;
  std::string_view source;
  // A message charon logged that this row recognises (what the unit tests feed it), and the
  // tests/fixtures/logs case it was recorded in ("" when no recorded run shows it: then the
  // example is the format string filled in).
  std::string_view example;
  std::string_view recorded;
};

// Every row, in the order they are tried (the first row that matches and reads wins).
std::span<const MessageRule> message_rules();

// Classifies one message: sets e.kind, e.role, e.sa and the row's fields. Returns the row
// that matched, or nullptr (e unchanged: kind other).
const MessageRule* classify_message_text(std::string_view message, LogEvent& e);

}  // namespace ist::charon
