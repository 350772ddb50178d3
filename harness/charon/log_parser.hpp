#pragma once
// strongSwan 5.9.8 charon filelog/syslog lines -> typed events, without regex.
//
// Layout (bus/listeners/file_logger.c): `[<time_format>[.mmm] ]NN[GRP] [<conn|uid> ]message`.
// Syslog lines (`Nov 23 18:48:06 host charon: 09[NET] ...`) are accepted too: the thread
// prefix is searched for within the first bytes of the line. The messages recognised are the
// table in log_messages.cpp: each row the exact 5.9.8 format string, its source line and a
// message charon logged.
//
// Two layers:
//  - parse_log_line(): one line -> LogEvent, stateless; every view points into the line.
//  - LogJoiner: a log read in order; carries what single lines do not say (the peer address of
//    an SA's lines, the role charon plays in it, the initiator SPI of a refused IKE_SA_INIT at
//    level 2, the address a COOKIE went to) from earlier/later lines of the same SA or thread.
#include <cstdint>
#include <deque>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <vector>

namespace ist::charon {

enum class LogSubsystem : uint8_t {
  unknown, DMN, MGR, IKE, CHD, JOB, CFG, KNL, NET, ASN, ENC, TNC, IMC, IMV, PTS, TLS, APP, ESP, LIB
};

// What a line says. `other` for every line not listed (the bulk of a level-2 log).
enum class LogEventKind : uint8_t {
  other,
  // admission control on the responder (IKE_SA_INIT dropped or challenged)
  ike_sa_limit_hit,        // MGR1 "ignoring IKE_SA_INIT, hitting IKE_SA limit (N)"; no address
  half_open_limit,         // NET1 "ignoring IKE_SA setup from %H, half-open IKE_SA limit of %d reached"
  per_ip_half_open_limit,  // NET1 "... per-IP half-open IKE_SA limit of %d reached" (block_threshold)
  job_load_limit,          // NET1 "... job load of %d exceeds limit of %d"
  cookie_sent,             // ENC1 "generating IKE_SA_INIT response 0 [ N(COOKIE) ]"
  cookie_notify_to,        // NET2 "sending COOKIE notify to %H" (precedes cookie_sent at level 2)
  cookie_received,         // initiator: ENC1 "parsed IKE_SA_INIT response 0 [ N(COOKIE) ]"
  half_open_timeout,       // JOB1 "deleting half open IKE_SA with %H after timeout"
  // negotiation failures
  no_proposal_chosen,      // "received proposals unacceptable", "no acceptable proposal found",
                           // "received NO_PROPOSAL_CHOSEN notify error|, no CHILD_SA built"
  no_ike_config,           // "no IKE config found for %H...%H, sending %N"
  no_peer_config,          // CFG1 "no matching peer config found"
  authentication_failed,   // "tried %d shared key ... MAC mismatched", "no shared key found",
                           // "no trusted ... public key found", EAP failures,
                           // "received AUTHENTICATION_FAILED notify error"
  ts_unacceptable,         // "traffic selectors ... unacceptable", "no acceptable traffic
                           // selectors found", "received TS_UNACCEPTABLE notify, no CHILD_SA built"
  notify_error,            // "received %N notify error" / ", no CHILD_SA built" for other notifies
  invalid_ke,              // "DH group %N unacceptable, requesting %N" / "peer didn't accept DH group"
  payload_error,           // ENC1 "%N payload verification failed", "payload type %N could not be
                           // parsed", "invalid DH public value size ..." (detail: the payload,
                           // e.g. "NONCE", "SECURITY_ASSOCIATION", "DH public value")
  critical_payload,        // ENC1 "payload type (%d) is not supported, but payload is critical!"
  unsupported_version,     // NET1 "received unsupported IKE version %d.%d from %H, sending ..."
  // kernel interface
  spi_alloc_failed,        // IKE1 "unable to allocate SPIs from kernel" / "allocating SPI failed"
  sa_install_failed,       // IKE1 "unable to install ... IPsec SA (SAD) in kernel"
  policy_install_failed,   // IKE1 "unable to install IPsec policies (SPD) in kernel"
  kernel_error,            // KNL1 "allocating SPI failed: ...", "unable to get SPI",
                           // "unable to add SAD entry ...", "received netlink error: ..."
  // retransmission
  retransmit,              // IKE1 "retransmit %d of request with message ID %d"
  giving_up,               // IKE1 "giving up after %d retransmits" / "... retries" (cookies)
  establish_timeout,       // IKE1 "establishing IKE_SA failed, peer not responding"
  rekey_timeout,           // IKE1 "rekeying IKE_SA failed, peer not responding"
  // rekeying
  rekey_collision,         // IKE1 "detected %N collision with %N"
  rekey_collision_outcome, // "... rekey collision won|lost ...", "peer did not notice ..."
  rekey_retry,             // "IKE_SA|CHILD_SA rekeying failed, trying again in %d seconds"
  ike_rekeyed,             // IKE0 "IKE_SA %s[%d] rekeyed between %H[%Y]...%H[%Y]"
  child_rekeyed,           // IKE0 "inbound CHILD_SA %s{%d} established with SPIs ..." (rekey)
  // lifecycle
  ike_initiating,          // IKE0 "initiating IKE_SA %s[%d] to %H" (we are the initiator)
  ike_init_received,       // IKE0 "%H is initiating an IKE_SA" (we are the responder)
  ike_established,         // IKE0 "IKE_SA %s[%d] established between %H[%Y]...%H[%Y]"
  child_established,       // IKE0 "CHILD_SA %s{%d} established with SPIs ..."
  behind_nat,              // IKE1 "remote host is behind NAT" / "local host is behind NAT..."
  delete_received,         // IKE1 "received DELETE for IKE_SA ..." / "... CHILD_SA with SPI ..."
  delete_sent,             // IKE1 "sending DELETE for IKE_SA ..." / "... CHILD_SA with SPI ..."
  ike_deleting,            // IKE0 "deleting IKE_SA %s[%d] between %H[%Y]...%H[%Y]"
  ike_destroyed,           // IKE0 "IKE_SA deleted" / "destroying IKE_SA in state %N without notification"
  peer_config_lookup,      // CFG1 "looking for peer configs matching %H[%Y]...%H[%Y]"
  child_expired,           // IKE0 "closing expired CHILD_SA ..." (hard lifetime reached)
  // packets and messages
  packet_received,         // NET "received packet: from %#H to %#H (%zu bytes)"
  packet_sent,             // NET "sending packet: from %#H to %#H (%zu bytes)"
  message_parsed,          // ENC1 "parsed %N %s %u [ ... ]"
  message_generated,       // ENC1 "generating %N %s %u [ ... ]"
  sa_checkout,             // MGR2 "checkout IKEv2 SA by message with SPIs %.16llx_i %.16llx_r"
  // daemon
  daemon_start,            // DMN1 "Starting IKE charon daemon (strongSwan ...)"
  daemon_stop,             // DMN1 "SIGTERM|SIGINT received, shutting down"
};
inline constexpr int kLogEventKindCount = static_cast<int>(LogEventKind::daemon_stop) + 1;

// The role charon plays in the exchange a line belongs to, where the line itself says so.
enum class LogRole : uint8_t { unknown, initiator, responder };
enum class LogSa : uint8_t { none, ike, child };

std::string_view to_string(LogEventKind kind);
std::string_view to_string(LogSubsystem subsystem);
std::optional<LogEventKind> log_event_kind_from_string(std::string_view name);

struct LogEvent {
  int64_t t_ms = -1;         // ms since the start of the line's year (-1: no timestamp).
                             // "%b %e %T" carries no year: only differences are meaningful.
  int thread = -1;           // strongSwan thread number (NN), -1 when absent
  LogSubsystem subsystem = LogSubsystem::unknown;
  int level = -1;            // with `log_level = yes` ("[IKE1]"), else -1
  std::string_view conn;     // ike_name prefix: "<conn|uid>" -> conn, "<uid>" -> ""
  uint32_t unique_id = 0;    // IKE_SA unique id from the prefix, 0 when absent
  LogEventKind kind = LogEventKind::other;
  LogRole role = LogRole::unknown;
  LogSa sa = LogSa::none;
  std::string_view address;  // the remote peer's address when the line names it (no port)
  std::string_view local;    // charon's own address when the line names it (no port)
  std::string_view detail;   // kind-specific: notify name, "IKE_REKEY collision with ...",
                             // exchange of a message line ("IKE_SA_INIT"), SPI of sa_checkout,
                             // remote identity of established/peer_config_lookup
  int64_t number = -1;       // kind-specific: limit, retransmit count, message ID of a message
  int64_t message_id = -1;   // retransmit: the message ID being retransmitted
  std::string_view message;  // the text after the prefixes
  std::string_view raw;      // the whole line (without the line end)
};

// Parses one line (no trailing newline needed; a trailing '\r' or '\n' is ignored). Never
// fails: lines that are not charon log lines give subsystem unknown / kind other.
LogEvent parse_log_line(std::string_view line);

// True when the line has the charon `NN[GRP] ` thread prefix (used to tell logs from garbage).
inline bool is_charon_line(const LogEvent& e) { return e.subsystem != LogSubsystem::unknown; }

// Splits a buffer into lines (LF or CRLF) and parses each: `fn(const LogEvent&)`.
template <class Fn>
void for_each_log_line(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    fn(parse_log_line(text.substr(pos, end - pos)));
    pos = end + 1;
  }
}

// The same over a file, read line by line: a soak's log of gigabytes costs one line of
// memory, not the whole text (JoinedLogEvent owns its strings, so the joiner needs no more).
// False when the file cannot be opened or read.
template <class Fn>
bool for_each_log_line_in_file(const std::string& path, Fn&& fn) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  for (std::string line; std::getline(f, line);) fn(parse_log_line(line));
  return !f.bad();
}

// A LogEvent with what the surrounding lines tell about it. Owns its strings: it may be
// emitted after the line buffer it came from is gone.
struct JoinedLogEvent {
  LogEventKind kind = LogEventKind::other;
  LogRole role = LogRole::unknown;  // the line's own role, else its SA's, else unknown
  LogSa sa = LogSa::none;
  int64_t t_ms = -1;
  int thread = -1;
  uint32_t unique_id = 0;
  int64_t number = -1;
  std::string conn;                 // ike_name connection name ("" when absent)
  std::string detail;               // as LogEvent::detail
  std::string peer_address;         // the remote peer's address if known
  std::string local_address;        // charon's own address in that SA if known
  std::string peer_id;              // remote identity, from "established between" / config lookup
  std::string attempt;              // key of one attempt: "uid:N", "spi:<SPI_i>",
                                    // "uid:N@<t_ms>" for a rekey collision, or ""
  std::string exchange;             // exchange the event belongs to, if known ("IKE_SA_INIT")
  std::string raw;                  // the line
  std::vector<std::string> context; // earlier lines of the same SA that explain it (retransmits)
};

// Feeds the lines of one log in order; emits each interesting event (kind != other and not a
// pure packet/message line) with its joins. Some joins need the next line (the address a
// COOKIE or a limit drop went to at level 1 is on the following `sending packet` line of the
// same thread), so an event may come out one line later; finish() flushes what is pending.
class LogJoiner {
 public:
  static constexpr int64_t kCollisionWindowMs = 1000;
  using Sink = void (*)(void* ctx, const JoinedLogEvent&);
  template <class Fn>
  void feed(const LogEvent& e, Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    feed_impl(e, [](void* c, const JoinedLogEvent& j) { (*static_cast<F*>(c))(j); },
              const_cast<void*>(static_cast<const void*>(&fn)));
  }
  template <class Fn>
  void finish(Fn&& fn) {
    using F = std::remove_reference_t<Fn>;
    finish_impl([](void* c, const JoinedLogEvent& j) { (*static_cast<F*>(c))(j); },
                const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // IKE_SAs whose state is held (moved out at "IKE_SA deleted" to a bounded list of recently
  // destroyed ones), for bounded memory.
  std::size_t tracked_sas() const { return sas_.size(); }

  // Lines seen with the charon thread prefix / without.
  std::size_t charon_lines() const { return charon_lines_; }
  std::size_t other_lines() const { return other_lines_; }

 private:
  struct SaState {
    LogRole role = LogRole::unknown;
    std::string peer_address;
    std::string local_address;
    std::string peer_id;
    std::string exchange;  // of the last request we sent or received
    std::vector<std::string> retransmits;
    // One collision is often logged twice within milliseconds (REKEY and DELETE tasks):
    // lines of the same SA kind within kCollisionWindowMs share an attempt key.
    int64_t collision_t[2] = {-1, -1};
    std::string collision_key[2];
  };
  void feed_impl(const LogEvent& e, Sink sink, void* ctx);
  void finish_impl(Sink sink, void* ctx);
  bool release_pending(const LogEvent& e, Sink sink, void* ctx);  // true: e was its packet line
  void forget_sa(uint32_t unique_id);
  void remember(const LogEvent& e, SaState* sa);
  bool complete(const LogEvent& e, SaState* sa, JoinedLogEvent& j);
  SaState* sa_of(const LogEvent& e);  // creates the entry
  SaState* find_sa(const LogEvent& e);

  std::unordered_map<uint32_t, SaState> sas_;
  // Destroyed SAs stay findable for a while: lines of a deleted SA can still follow (the
  // delete's response, a collision detected by a task that was already queued).
  std::unordered_map<uint32_t, SaState> destroyed_;
  std::deque<uint32_t> destroyed_order_;
  static constexpr std::size_t kDestroyedKept = 4096;
  std::unordered_map<int, std::string> checkout_spi_by_thread_;   // level-2 MGR checkout
  std::unordered_map<int, std::string> cookie_addr_by_thread_;    // level-2 COOKIE notify
  std::unordered_map<int, JoinedLogEvent> pending_by_thread_;  // waits for next packet line
  std::size_t charon_lines_ = 0;
  std::size_t other_lines_ = 0;
};

}  // namespace ist::charon
