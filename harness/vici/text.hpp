#pragma once
// Human text for vici messages: the YAML-like listing `ikestorm vici` prints, and the
// key=value notation it reads arguments in.
//
//   key=value          a value in the root section
//   a.b.key=value      sections a and b are created as needed
//   key[]=item         appends an item to list `key` (repeat for more items)
//   a.list[]=item      lists inside sections too
// A name cannot contain '.', '[', ']' or '=' in this notation (charon's keys never do).
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "vici/message.hpp"

namespace ist::vici {

// Applies one "path=value" to `m`. Fails on a malformed assignment or when a path runs
// through an existing value or list ("a=1 a.b=2").
Status apply_assignment(Message& m, std::string_view assignment);

// YAML-like, two spaces per level:
//   key: value          lists as "- item" lines, empty list "[]", empty section "{}"
// Values that are not plain printable text are JSON-quoted; non-UTF-8 as "!hex <digits>".
std::string format_text(const Message& m, int indent = 0);

}  // namespace ist::vici
