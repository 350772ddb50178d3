#include "vici/raw_command.hpp"

#include <map>

#include <nlohmann/json.hpp>

#include "vici/text.hpp"

namespace ist::vici {

std::optional<std::string_view> streamed_event(std::string_view command) {
  static const std::map<std::string, std::string, std::less<>> events = {
      {"list-sas", "list-sa"},         {"list-conns", "list-conn"},
      {"list-certs", "list-cert"},     {"list-policies", "list-policy"},
      {"list-authorities", "list-authority"},
  };
  auto it = events.find(command);
  if (it == events.end()) return std::nullopt;
  return it->second;
}

Result<Message> message_from_json_text(std::string_view json_text, const std::string& source) {
  auto j = nlohmann::ordered_json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return Error(source + " is not valid JSON");
  return Message::from_json(j);
}

Status apply_assignments(Message& m, std::span<const std::string> words) {
  for (const auto& w : words) IST_TRY(apply_assignment(m, w));
  return ok();
}

Result<RawAnswer> call_raw(Session& session, const std::string& command, const Message& request) {
  RawAnswer a;
  if (auto event = streamed_event(command)) {
    IST_TRY_ASSIGN(auto r, session.call_stream(command, *event, request));
    a.streamed = true;
    a.event = *event;
    a.items = std::move(r.items);
    a.response = std::move(r.response);
  } else {
    IST_TRY_ASSIGN(a.response, session.call(command, request));
  }
  return a;
}

std::string format_event(std::string_view name, const Message& m, bool json) {
  if (json) {
    nlohmann::ordered_json j;
    j["event"] = std::string(name);
    j["data"] = m.to_json();
    return j.dump() + "\n";
  }
  return "--- " + std::string(name) + "\n" + format_text(m, 1);
}

std::string format_answer(const RawAnswer& a, bool json) {
  if (json) {
    if (!a.streamed) return a.response.to_json().dump(2) + "\n";
    nlohmann::ordered_json j;
    j["items"] = nlohmann::ordered_json::array();
    for (const auto& item : a.items) j["items"].push_back(item.to_json());
    j["response"] = a.response.to_json();
    return j.dump(2) + "\n";
  }
  std::string out;
  for (const auto& item : a.items) out += format_event(a.event, item, false);
  if (!a.response.empty() || !a.streamed) out += format_text(a.response);
  return out;
}

}  // namespace ist::vici
