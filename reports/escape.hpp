#pragma once
// Escaping for text that comes from peers, logs or the scenario and ends up in a report page.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace ist::reports {

// Text content and attribute values: & < > " ' become entities.
std::string html_escape(std::string_view text);

// XML 1.0 text/attributes: like html_escape, and characters XML 1.0 forbids (control
// characters other than tab, newline, carriage return; invalid UTF-8) become U+FFFD '?'.
std::string xml_escape(std::string_view text);

// JSON text safe to place inside <script>...</script>: '<', '>', '&' and U+2028/U+2029
// become \uXXXX escapes (they can only occur inside JSON strings, so the JSON value is
// unchanged). Invalid UTF-8 is replaced rather than thrown on.
std::string json_for_script(const nlohmann::json& value);

}  // namespace ist::reports
