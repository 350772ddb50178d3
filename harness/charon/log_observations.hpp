#pragma once
// charon log events -> the taxonomy's observations (the classifier's input). It lives beside
// the log parser so the taxonomy sees only observations and knows nothing of charon's logs.
//
// `log_side` is the side whose daemon wrote the log: the SUT's log is `responder`, a peer's
// (initiator) log is `initiator`, whatever role charon played in a single exchange. The peer's
// address is then the remote address (SUT log) or charon's own address (peer log).
#include <optional>
#include <string_view>
#include <vector>

#include "charon/log_parser.hpp"
#include "taxonomy/observed_event.hpp"

namespace ist::charon {

std::optional<taxonomy::Observation> observation_of(LogEventKind k);

// A refused payload by name (charon's payload_type_names), for the payload-specific codes.
taxonomy::Observation observation_of_payload(std::string_view payload);

std::optional<taxonomy::ObservedEvent> observe_charon_log_event(const JoinedLogEvent& j, taxonomy::Side log_side);

// A whole log (already in memory) -> observations, in log order. `source` (e.g. "sut")
// prefixes the attempt keys so events of different daemons never merge.
std::vector<taxonomy::ObservedEvent> observe_charon_log(std::string_view text, taxonomy::Side log_side,
                                                        std::string_view source);

}  // namespace ist::charon
