#pragma once
// One vici command sent exactly as given, and its answer printed (what `ikestorm vici`
// does, like `swanctl --raw`): the request built from key=value words or JSON, the list
// commands' streamed events collected, and the answer rendered as text or JSON.
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "vici/message.hpp"
#include "vici/session.hpp"

namespace ist::vici {

// The event a command streams its answer in before its (empty) response ("list-sas" ->
// "list-sa"), or nullopt for a command that answers in its response.
std::optional<std::string_view> streamed_event(std::string_view command);

// A request from JSON text (objects = sections, arrays = lists, strings = values); `source`
// names the text in the error ("req.json is not valid JSON").
Result<Message> message_from_json_text(std::string_view json_text, const std::string& source);

// Applies each "path=value" word (text.hpp's notation) to `m`; the first bad one is the Error.
Status apply_assignments(Message& m, std::span<const std::string> words);

struct RawAnswer {
  bool streamed = false;       // a list command: its items came as events
  std::string event;           // the items' event name when streamed
  std::vector<Message> items;
  Message response;
  bool said_no() const { return response.get("success") == "no"; }
};

// Sends `command` with `request` and waits (the session's default timeout). An Error with
// errno EOPNOTSUPP or ENOENT means the daemon does not know the command or event.
Result<RawAnswer> call_raw(Session& session, const std::string& command, const Message& request);

// An event as `ikestorm vici` prints it: "--- NAME" and the YAML-like text, or (json) one
// line {"event": NAME, "data": {...}}.
std::string format_event(std::string_view name, const Message& m, bool json);

// The answer: text prints a streamed command's items as events, then the response (unless
// it is empty after items); json prints {"items": [...], "response": {...}} for a streamed
// command, else the response, indented.
std::string format_answer(const RawAnswer& a, bool json);

}  // namespace ist::vici
