#pragma once
// `ikestorm probe --target`: one IKE_SA_INIT to an external gateway from one peer address,
// through the target topology (a peers namespace with a macvlan of the host interface,
// journaled, removed afterwards), and what came back. No load: one datagram out, at most
// one answer read, nothing retransmitted.
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "ike/ike_message.hpp"
#include "netns/ip_address.hpp"

namespace ist::netns {
class Namespace;
}

namespace ist::run {

struct TargetProbeOptions {
  std::string interface;                 // the host link on the gateway's network
  netns::IpPrefix local;                 // an unused address there, with its prefix length
  netns::IpAddress target;               // the gateway's IKE address
  netns::IpPrefix peers;                 // the probe leaves from its first host address
  std::chrono::milliseconds wait{5000};  // how long an answer is waited for
};

// What the gateway's answer to one IKE_SA_INIT said.
enum class ProbeAnswer {
  proposal,            // an SA payload: the gateway would go on
  no_proposal_chosen,  // NO_PROPOSAL_CHOSEN
  invalid_ke,          // INVALID_KE_PAYLOAD: it wants another DH group (detail names it)
  cookie,              // COOKIE: it is under load or always asks for cookies
  other_notify,        // another error notify
  unparsable,          // bytes that are no IKEv2 response to our request
  nothing,             // no answer within `wait`
};
std::string to_string(ProbeAnswer a);

struct TargetProbeResult {
  std::string from;                     // the address the probe left from
  ProbeAnswer answer = ProbeAnswer::nothing;
  std::string detail;                   // the chosen proposal, the notify's name, the parse error
  std::optional<double> rtt_ms;         // request to answer
  std::vector<std::string> vendor_ids;  // known ones by name ("strongSwan"), others in hex
  // "works" (the answer reached the peer address), "broken" (no answer there, but the same
  // request from target.local was answered), "unknown" (no answer at all)
  std::string route_back;
  std::vector<std::string> notes;       // e.g. "the gateway's answer came from another address"
  nlohmann::json to_json() const;
};

// The names of vendor IDs ikestorm knows (strongSwan's is MD5("strongSwan")); "" otherwise.
std::string known_vendor_id(native::ByteView vid);
// A response to our IKE_SA_INIT (spi_i must match) read into a result.
void read_probe_answer(const native::Message& response, TargetProbeResult& out);

// One IKE_SA_INIT from `from` (an address `ns` holds) to `target`:500, not retransmitted, and
// the first answer within `wait` (none: rtt_ms unset). A target run asks this once its phases
// are over (report.target.vendor); route_back and the silence are not explained here.
Result<TargetProbeResult> probe_once(const netns::Namespace& ns, const netns::IpAddress& from,
                                     const netns::IpAddress& target, std::chrono::milliseconds wait);

// Builds the topology (host checks first: their problems are an Error with errno EINVAL),
// sends, waits, tears down. Errors are harness faults unless errno is EINVAL.
Result<TargetProbeResult> probe_target(const TargetProbeOptions& options);

}  // namespace ist::run
