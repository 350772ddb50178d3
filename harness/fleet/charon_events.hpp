#pragma once
// Turns what an initiator charon says over vici into PeerObservations. Connection names
// carry the peer index ("p17"), so no lookup table is needed. vici sends no event for an
// attempt that never got an answer: the `log` event (levels 0-1 only) is how an initiator's
// giving up, or an error notify it received, becomes an observation.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.hpp"
#include "fleet/peer_tracker.hpp"
#include "vici/message.hpp"

namespace ist::fleet {

// "p17" -> 17. Anything else -> nullopt (other connections are not ours to count).
std::optional<uint32_t> peer_index_from_name(std::string_view conn_name);
std::string peer_conn_name(uint32_t peer);

// Appends what one vici event means to `out` (possibly nothing).
void observations_from_event(std::string_view event, const vici::Message& m, MonoTime t,
                             std::vector<PeerObservation>& out);

// For a `log` event: whether its text ends the attempt it belongs to. The text is kept as
// evidence for the classifier.
bool log_ends_attempt(std::string_view msg);
// Of those: whether it says the peer got no answer at all (retransmits exhausted).
bool log_means_no_response(std::string_view msg);

}  // namespace ist::fleet
