#pragma once
// Protocol-aware impairments for the native peer engine (netem is absent on this kernel, and
// netem could not tell an IKE_AUTH answer from any other datagram anyway). The IKE header is
// cleartext, so a rule can name the exchange, whether the datagram is a request or a
// response, and the direction as the peer sees it:
//   in   datagrams from the SUT to a peer (its answers, its own requests)
//   out  datagrams from a peer to the SUT
// A rule applies to a share of the peers, chosen once per run from the seed: exactly
// round(share x peers) peers, the next ones along one seeded shuffle of all peers, so rules
// take disjoint peers while their shares add up to at most 100% (beyond that they wrap
// around and overlap); the same seed gives the same peers. Optionally a rule applies to a
// share of the matching datagrams only. Rules apply to IKE datagrams unless `esp` is set, then only to
// ESP ones. The first rule (in order) that matches a datagram decides what happens to it.
// Pure logic: ImpairedIo (impaired_io.hpp) puts it on the wire.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "fleet/native/packet_io.hpp"
#include "ike/ike_message.hpp"

namespace ist::native {

enum class ImpairAction : uint8_t {
  drop,       // the datagram is lost
  delay,      // held for `delay`, then sent / delivered
  duplicate,  // sent / delivered `copies` extra times
  reorder,    // held until the next datagram of the same peer and direction passed (or `delay`)
  corrupt,    // one byte after the IKE (or ESP) header flipped
  malform,    // an outgoing IKE message rewritten as `malform` says (flood_malformed.hpp)
};
enum class ImpairDirection : uint8_t { in, out, both };
enum class ImpairMessage : uint8_t { any, request, response };
// How `malform` breaks a message; each provokes a different error at the receiver.
enum class MalformKind : uint8_t {
  unknown_critical,  // an unknown payload type (200) with the critical bit appended
  bad_version,       // IKE major version 3 in the header
  short_nonce,       // the Nonce payload cut to 8 bytes (RFC 7296 asks for >= 16)
  bad_ke,            // the KE payload's key data one byte short for its DH group
  bad_length,        // the first payload's length runs past the end of the message
};

const char* to_string(ImpairAction a);
const char* to_string(ImpairDirection d);
const char* to_string(ImpairMessage m);
const char* to_string(MalformKind k);
std::optional<ImpairAction> impair_action_from(std::string_view s);
std::optional<MalformKind> malform_kind_from(std::string_view s);
// "IKE_SA_INIT", "IKE_AUTH", "CREATE_CHILD_SA", "INFORMATIONAL"
const char* exchange_name(ExchangeType t);
std::optional<ExchangeType> exchange_from(std::string_view s);

struct ImpairRule {
  ImpairAction action = ImpairAction::drop;
  std::optional<ExchangeType> exchange;  // nullopt: every exchange
  ImpairDirection direction = ImpairDirection::both;
  ImpairMessage message = ImpairMessage::any;
  bool esp = false;                      // ESP datagrams instead of IKE (exchange/message unused)
  double peers = 1.0;                    // share of peers, 0..1
  double packets = 1.0;                  // share of matching datagrams, 0..1
  std::chrono::milliseconds delay{0};    // delay; reorder: longest hold (0: 1 s)
  unsigned copies = 1;                   // duplicate: extra copies
  MalformKind malform = MalformKind::unknown_critical;

  // "drop IKE_AUTH responses in, 10% of peers"
  std::string describe() const;
};

// What the cleartext headers say about one datagram.
struct DatagramInfo {
  enum class Kind : uint8_t { ike, esp, keepalive, other };
  Kind kind = Kind::other;
  size_t ike_offset = 0;        // where the IKE header starts (4 after a non-ESP marker)
  uint8_t exchange = 0;         // IKE: exchange type byte
  bool response = false;        // IKE: R flag
  uint32_t message_id = 0;      // IKE
};
// Port 500: IKE. Port 4500: a zero non-ESP marker then IKE, a single 0xff byte a NAT-T
// keepalive, anything else of at least 8 bytes ESP. A datagram too short for its kind's
// header is `other` (never matched by a rule).
DatagramInfo inspect_datagram(const PacketDatagram& d);

// The rules with the peers each applies to, and the per-datagram decision.
class ImpairPlan {
 public:
  ImpairPlan() = default;
  // Refuses shares outside 0..1, copies of 0 or above 16, malform on `in` or on ESP.
  static Result<ImpairPlan> make(std::vector<ImpairRule> rules, uint32_t peers, uint64_t seed);

  bool empty() const { return rules_.empty(); }
  const std::vector<ImpairRule>& rules() const { return rules_; }
  // Whether rule `rule` was chosen for `peer`.
  bool selected(size_t rule, uint32_t peer) const;
  // How many peers rule `rule` applies to.
  uint32_t selected_count(size_t rule) const;
  // The index of the rule that decides this datagram of `peer` travelling `dir` (in or
  // out), or nullopt to let it pass. Draws from the plan's seeded stream for rules with
  // packets < 100%, so the same run order gives the same decisions.
  std::optional<size_t> decide(uint32_t peer, ImpairDirection dir, const DatagramInfo& info);
  // A value from the plan's seeded stream (corrupt offsets).
  uint64_t next_random();

 private:
  std::vector<ImpairRule> rules_;
  std::vector<std::vector<bool>> selected_;  // [rule][peer]
  std::vector<uint32_t> counts_;
  uint64_t rng_ = 0;
};

// Whether `rule` matches this datagram travelling `dir` (ignoring peer and packet share).
bool rule_matches(const ImpairRule& rule, ImpairDirection dir, const DatagramInfo& info);

// splitmix64: the seeded hash behind peer selection (exposed for tests).
uint64_t impair_hash(uint64_t x);

}  // namespace ist::native
