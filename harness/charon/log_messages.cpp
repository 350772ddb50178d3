#include "charon/log_messages.hpp"

#include <array>
#include <bit>
#include <cstring>

#include "charon/log_text.hpp"

namespace ist::charon {
namespace {

using namespace text;
using K = LogEventKind;
using M = MessageMatch;
constexpr auto kI = LogRole::initiator;
constexpr auto kR = LogRole::responder;
constexpr auto kAnyRole = LogRole::unknown;
constexpr auto kIke = LogSa::ike;
constexpr auto kChild = LogSa::child;
constexpr auto kNoSa = LogSa::none;

// ---- field readers: how a row reads what its message carries ---------------------------

// The rest of the message after the row's prefix.
bool detail_rest(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  e.detail = m.substr(r.prefix.size());
  return true;
}

// The message after its first word ("detected IKE_REKEY collision ..." -> "IKE_REKEY ...").
bool detail_after_first_word(sv m, const MessageRule&, std::size_t, LogEvent& e) {
  e.detail = m.substr(m.find(' ') + 1);
  return true;
}

// The first word ("remote host is behind NAT" -> "remote").
bool detail_first_word(sv m, const MessageRule&, std::size_t, LogEvent& e) {
  e.detail = m.substr(0, m.find(' '));
  return true;
}

// Between the prefix and the tail ("payload type SECURITY_ASSOCIATION could not be parsed").
bool detail_between(sv m, const MessageRule& r, std::size_t tail_at, LogEvent& e) {
  e.detail = m.substr(r.prefix.size(), tail_at - r.prefix.size());
  return true;
}

// Before the tail, which must not be all there is ("NONCE payload verification failed").
bool detail_before_tail(sv m, const MessageRule&, std::size_t tail_at, LogEvent& e) {
  if (tail_at == 0) return false;
  e.detail = m.substr(0, tail_at);
  return true;
}

// "ignoring %N, hitting IKE_SA limit (%u)": the exchange and the limit.
bool exchange_and_limit(sv m, const MessageRule& r, std::size_t tail_at, LogEvent& e) {
  e.detail = m.substr(r.prefix.size(), tail_at - r.prefix.size());
  e.number = leading_int(m.substr(tail_at + r.tail.size()));
  return true;
}

// The KE payload, named as the Windows code names it: views always point into the line.
bool detail_dh_public_value(sv m, const MessageRule&, std::size_t, LogEvent& e) {
  e.detail = m.substr(8, 15);  // "DH public value"
  return true;
}

// "received unsupported IKE version %d.%d from %H, ...": the version and the sender.
bool version_and_sender(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  e.address = take_addr(after(m, " from "));
  std::size_t at = r.prefix.size();
  e.detail = m.substr(at, m.find(' ', at) - at);  // "3.0"
  return true;
}

// "received packet: from %#H to %#H": the peer sent it to us.
bool packet_from_peer(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv from = m.substr(r.prefix.size());
  e.address = take_addr(from);
  e.local = take_addr(after(from, " to "));
  return true;
}

// "sending packet: from %#H to %#H": we sent it to the peer.
bool packet_to_peer(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv from = m.substr(r.prefix.size());
  e.local = take_addr(from);
  e.address = take_addr(after(from, " to "));
  return true;
}

// "retransmit %d of request with message ID %d". The prefix is the word alone, so that the
// tail's leading space may be the word's (the count is then missing: -1).
bool retransmit_count_and_id(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  if (m.size() <= r.prefix.size() || m[r.prefix.size()] != ' ') return false;
  e.number = leading_int(m.substr(r.prefix.size() + 1));
  e.message_id = int_after(m, "message ID ");
  return true;
}

// "received %N notify...": the notify's name, one upper-case word right after "received ",
// followed by the row's tail (exactly, for a suffix row).
bool notify_name(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  constexpr std::size_t at = 9;  // after "received "
  std::size_t sp = m.find(' ', at);
  if (sp == sv::npos || sp == at || !is_upper(m[at])) return false;
  sv rest = m.substr(sp);
  if (r.match == M::suffix ? rest != r.tail : (r.match == M::contains && !starts(rest, r.tail)))
    return false;
  e.detail = m.substr(at, sp - at);
  return true;
}

// "parsed|generating %N request|response %u [ ... ]": exchange and message ID. Only an
// IKE_SA_INIT line tells charon's role (a rekey may be started by either side).
bool exchange_and_message_id(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv rest = m.substr(r.prefix.size());
  std::size_t sp = rest.find(' ');
  if (sp == sv::npos || sp == 0 || !is_upper(rest[0])) return false;
  sv tail = rest.substr(sp + 1);
  bool request = starts(tail, "request ");
  if (!request && !starts(tail, "response ")) return false;
  e.detail = rest.substr(0, sp);
  e.number = leading_int(tail.substr(request ? 8 : 9));
  if (e.detail == "IKE_SA_INIT")
    e.role = ((r.kind == K::message_generated) == request) ? LogRole::initiator : LogRole::responder;
  return true;
}

// "... IKE_SA_INIT response 0 [ N(COOKIE) ]": only message ID 0 is a COOKIE challenge.
bool cookie_response(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  if (leading_int(m.substr(r.prefix.size())) != 0) return false;
  e.number = 0;
  e.detail = m.substr(m.find(' ') + 1, 11);  // "IKE_SA_INIT"
  return true;
}

// "giving up after %d retransmits|retries".
bool count_and_last_word(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  e.number = leading_int(m.substr(r.prefix.size()));
  e.detail = m.substr(m.rfind(' ') + 1);
  return true;
}

// "ignoring IKE_SA setup from %H, <reason>": the reason (the row's tail) must follow the
// address; the limit is the number after "limit of".
bool sender_and_limit(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv rest = m.substr(r.prefix.size());
  sv address = take_addr(rest);
  sv why = after_addr(rest, address);
  if (!starts(why, r.tail)) return false;
  e.address = address;
  e.number = int_after(why, "limit of ");
  return true;
}

// The sender alone (the old "peer too aggressive" has no limit).
bool sender(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv rest = m.substr(r.prefix.size());
  sv address = take_addr(rest);
  if (!starts(after_addr(rest, address), r.tail)) return false;
  e.address = address;
  return true;
}

// The job load's limit: the number after "exceeds limit of".
bool sender_and_load_limit(sv m, const MessageRule& r, std::size_t at, LogEvent& e) {
  if (!sender(m, r, at, e)) return false;
  e.number = int_after(after_addr(m.substr(r.prefix.size()), e.address), "exceeds limit of ");
  return true;
}


// The address right after the prefix ("deleting half open IKE_SA with %H after timeout").
bool address_rest(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  e.address = take_addr(m.substr(r.prefix.size()));
  return true;
}

// The address the message starts with ("%H is initiating an IKE_SA").
bool address_first(sv m, const MessageRule&, std::size_t, LogEvent& e) {
  e.address = take_addr(m);
  return true;
}

// "initiating IKE_SA %s[%d] to %H".
bool address_after_to(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  e.address = take_addr(after(m.substr(r.prefix.size()), " to "));
  return true;
}

// "... between %H[%Y]...%H[%Y]": both addresses and the remote identity.
void read_between(sv between, LogEvent& e) {
  e.local = take_addr(between);
  sv remote = after(between, "...");
  e.address = take_addr(remote);
  e.detail = bracket_after_addr(after_addr(remote, e.address));
}
bool addresses_between(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  read_between(after(m.substr(r.prefix.size()), " between "), e);
  return true;
}
bool addresses_between_present(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv between = after(m.substr(r.prefix.size()), " between ");
  if (between.empty()) return false;
  read_between(between, e);
  return true;
}

// "looking for peer configs matching %H[%Y]...%H[%Y]".
bool config_lookup_addresses(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv rest = m.substr(r.prefix.size());
  e.local = take_addr(rest);
  sv remote = after(rest, "...");
  e.address = take_addr(remote);
  e.detail = bracket_after_addr(after_addr(remote, e.address));
  return true;
}

// "no IKE config found for %H...%H, sending %N".
bool local_and_remote(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv rest = m.substr(r.prefix.size());
  e.local = take_addr(rest);
  e.address = take_addr(after(rest, "..."));
  return true;
}

// "checkout IKEv2 SA by message with SPIs %.16llx_i %.16llx_r": the initiator's SPI.
bool initiator_spi(sv m, const MessageRule& r, std::size_t, LogEvent& e) {
  sv spi = m.substr(r.prefix.size());
  std::size_t n = 0;
  while (n < spi.size() && n < 16 && is_hex(spi[n])) ++n;
  if (n != 16 || !starts(spi.substr(16), "_i")) return false;
  e.detail = spi.substr(0, 16);
  return true;
}

// "no acceptable proposal found": child_create.c once an IKE_SA exists (the prefix then names
// the connection), ike_init.c (IKE_SA_INIT) before that.
bool sa_from_ike_name(sv, const MessageRule&, std::size_t, LogEvent& e) {
  e.sa = e.conn.empty() ? LogSa::ike : LogSa::child;
  return true;
}

// ---- the table --------------------------------------------------------------------------
// Format strings and sources: strongSwan 5.9.8 (paths under src/libcharon/ unless they start
// with src/). Examples: as recorded in tests/fixtures/logs/<case> where `recorded` names one;
// "malformed" lines were recorded from scenarios/impair/malformed.yaml (kept in
// tests/unit/impair_taxonomy_test.cpp); the rest is the format string filled in.
// Rows sharing a first byte are tried in this order, so the more specific row comes first.

// The first bytes of "%H is initiating an IKE_SA": digits, ':' and every hex letter, so that
// IPv6 addresses such as "abcd::5" or "fe80::1" are read, and '[' for the bracketed form
// ("[2001:2::5]"). The row is the table's last, so for a line starting with one of these
// that no other row took it costs one suffix test.
constexpr std::string_view kAddressStart = "0123456789:ABCDEFabcdef[";

constexpr auto kRules = std::to_array<MessageRule>({
    // Malformed messages the receiving side refused (ENC/NET lines); tried before the rest.
    {"", "", M::suffix, " payload verification failed", K::payload_error, kR, kIke, detail_before_tail,
     "ENC1 %N payload verification failed", "encoding/message.c:2298",
     "NONCE payload verification failed", "malformed"},
    {{}, "payload type ", M::contains, " could not be parsed", K::payload_error, kR, kIke, detail_between,
     "ENC1 payload type %N could not be parsed", "encoding/message.c:2289",
     "payload type SECURITY_ASSOCIATION could not be parsed", "malformed"},
    {{}, "payload type ", M::contains, " is not supported, but payload is critical!", K::critical_payload, kR,
     kIke, detail_between, "ENC1 payload type (%d) is not supported, but payload is critical!",
     "sa/ikev2/task_manager_v2.c:1597",
     "payload type (200) is not supported, but payload is critical!", "malformed"},
    {{}, "invalid DH public value size ", M::prefix, {}, K::payload_error, kR, kIke, detail_dh_public_value,
     "ENC1 invalid DH public value size (%zu bytes) for %N", "src/libstrongswan/crypto/key_exchange.c:617",
     "invalid DH public value size (31 bytes) for CURVE_25519", "malformed"},
    {{}, "received unsupported IKE version ", M::prefix, {}, K::unsupported_version, kR, kIke,
     version_and_sender,
     "NET1 received unsupported IKE version %d.%d from %H, sending INVALID_MAJOR_VERSION",
     "network/receiver.c:584",
     "received unsupported IKE version 3.0 from 198.19.0.8, sending INVALID_MAJOR_VERSION", "malformed"},

    // 'r'
    {{}, "received packet: from ", M::prefix, {}, K::packet_received, kAnyRole, kNoSa, packet_from_peer,
     "NET2 received packet: from %#H to %#H (%zu bytes)", "network/receiver.c:386",
     "received packet: from 198.19.0.1[500] to 198.18.0.1[500] (240 bytes)", "normal"},
    {{}, "retransmit", M::contains, " of request with message ID ", K::retransmit, kAnyRole, kNoSa,
     retransmit_count_and_id, "IKE1 retransmit %d of request with message ID %d",
     "sa/ikev2/task_manager_v2.c:412", "retransmit 1 of request with message ID 0", "ikesa-limit"},
    {{}, "received proposals unacceptable", M::prefix, {}, K::no_proposal_chosen, kR, kIke, nullptr,
     "IKE1 received proposals unacceptable", "sa/ikev2/tasks/ike_init.c:861",
     "received proposals unacceptable", "proposal-mismatch"},
    {{}, "received DELETE for IKE_SA ", M::prefix, {}, K::delete_received, kAnyRole, kIke, detail_rest,
     "IKE1 received DELETE for IKE_SA %s[%d]", "sa/ikev2/tasks/ike_delete.c:125",
     "received DELETE for IKE_SA rw[2]", "normal"},
    {{}, "received DELETE for ", M::prefix, {}, K::delete_received, kAnyRole, kChild, detail_rest,
     "IKE1 received DELETE for %N CHILD_SA with SPI %.8x", "sa/ikev2/tasks/child_delete.c:258",
     "received DELETE for ESP CHILD_SA with SPI 6091cd0b", "rekey"},
    {{}, "received netlink error: ", M::prefix, {}, K::kernel_error, kAnyRole, kNoSa, nullptr,
     "KNL1 received netlink error: %s (%d)", "plugins/kernel_netlink/kernel_netlink_shared.c:552",
     "received netlink error: File exists (17)", ""},
    // "received %N notify ...": the three notifies with a kind of their own, then any other.
    {{}, "received NO_PROPOSAL_CHOSEN notify error", M::exact, {}, K::no_proposal_chosen, kI, kIke,
     notify_name, "IKE1 received %N notify error", "sa/ikev2/tasks/ike_init.c:1106",
     "received NO_PROPOSAL_CHOSEN notify error", "proposal-mismatch"},
    {{}, "received AUTHENTICATION_FAILED notify error", M::exact, {}, K::authentication_failed, kI, kIke,
     notify_name, "IKE1 received %N notify error", "sa/ikev2/tasks/ike_auth.c:1329",
     "received AUTHENTICATION_FAILED notify error", "wrong-psk"},
    {{}, "received TS_UNACCEPTABLE notify error", M::exact, {}, K::ts_unacceptable, kI, kIke, notify_name,
     "IKE1 received %N notify error", "sa/ikev2/tasks/child_create.c:1855",
     "received TS_UNACCEPTABLE notify error", ""},
    {{}, "received ", M::suffix, " notify error", K::notify_error, kI, kIke, notify_name,
     "IKE1 received %N notify error", "sa/ikev2/tasks/ike_init.c:1106",
     "received INVALID_SYNTAX notify error", ""},
    {{}, "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built", M::prefix, {}, K::no_proposal_chosen, kI,
     kChild, notify_name, "IKE1 received %N notify, no CHILD_SA built",
     "sa/ikev2/tasks/child_create.c:1800", "received NO_PROPOSAL_CHOSEN notify, no CHILD_SA built",
     "proposal-mismatch"},
    {{}, "received AUTHENTICATION_FAILED notify, no CHILD_SA built", M::prefix, {}, K::authentication_failed,
     kI, kChild, notify_name, "IKE1 received %N notify, no CHILD_SA built",
     "sa/ikev2/tasks/child_create.c:1800", "received AUTHENTICATION_FAILED notify, no CHILD_SA built", ""},
    {{}, "received TS_UNACCEPTABLE notify, no CHILD_SA built", M::prefix, {}, K::ts_unacceptable, kI, kChild,
     notify_name, "IKE1 received %N notify, no CHILD_SA built", "sa/ikev2/tasks/child_create.c:1800",
     "received TS_UNACCEPTABLE notify, no CHILD_SA built", "ts-mismatch"},
    {{}, "received ", M::contains, " notify, no CHILD_SA built", K::notify_error, kI, kChild, notify_name,
     "IKE1 received %N notify, no CHILD_SA built", "sa/ikev2/tasks/child_create.c:1800",
     "received INVALID_SELECTORS notify, no CHILD_SA built", ""},
    {{}, "received ", M::contains, " notify, will retry later", K::rekey_retry, kI, kChild, notify_name,
     "IKE1 received %N notify, will retry later", "sa/ikev2/tasks/child_create.c:1810",
     "received TEMPORARY_FAILURE notify, will retry later", ""},
    {{}, "received COOKIE notify", M::exact, {}, K::cookie_received, kI, kIke, nullptr,
     "IKE2 received %N notify", "sa/ikev2/tasks/ike_init.c:1075", "received COOKIE notify", ""},
    {{}, "remote host is behind NAT", M::prefix, {}, K::behind_nat, kAnyRole, kIke, detail_first_word,
     "IKE1 remote host is behind NAT", "sa/ike_sa.c:760", "remote host is behind NAT", "cookie"},
    {{}, "rekeying IKE_SA failed, peer not responding", M::prefix, {}, K::rekey_timeout, kI, kIke, nullptr,
     "IKE1 rekeying IKE_SA failed, peer not responding", "sa/ike_sa.c:2509",
     "rekeying IKE_SA failed, peer not responding", ""},

    // 's'
    {{}, "sending packet: from ", M::prefix, {}, K::packet_sent, kAnyRole, kNoSa, packet_to_peer,
     "NET1 sending packet: from %#H to %#H (%zu bytes)", "network/sender.c:101",
     "sending packet: from 198.18.0.1[500] to 198.19.0.1[500] (248 bytes)", "normal"},
    {{}, "sending COOKIE notify to ", M::prefix, {}, K::cookie_notify_to, kR, kIke, address_rest,
     "NET2 sending COOKIE notify to %H", "network/receiver.c:417",
     "sending COOKIE notify to 198.19.0.10", "cookie-level2"},
    {{}, "sending DELETE for IKE_SA ", M::prefix, {}, K::delete_sent, kAnyRole, kIke, detail_rest,
     "IKE1 sending DELETE for IKE_SA %s[%d]", "sa/ikev2/tasks/ike_delete.c:74",
     "sending DELETE for IKE_SA peer10[10]", "cookie"},
    {{}, "sending DELETE for ", M::prefix, {}, K::delete_sent, kAnyRole, kChild, detail_rest,
     "IKE1 sending DELETE for %N CHILD_SA with SPI %.8x", "sa/ikev2/tasks/child_delete.c:120",
     "sending DELETE for ESP CHILD_SA with SPI c1a2b3c4", ""},

    // 'p'
    {{}, "parsed IKE_SA_INIT response ", M::suffix, "[ N(COOKIE) ]", K::cookie_received, kI, kIke,
     cookie_response, "ENC1 parsed %s (message: %N %s %u [ ... ])", "encoding/message.c:2668",
     "parsed IKE_SA_INIT response 0 [ N(COOKIE) ]", "cookie"},
    {{}, "parsed ", M::prefix, {}, K::message_parsed, kAnyRole, kNoSa, exchange_and_message_id,
     "ENC1 parsed %s (message: %N %s %u [ ... ])", "encoding/message.c:2668",
     "parsed INFORMATIONAL request 3 [ D ]", "normal"},
    {{}, "peer did not notice IKE_SA rekey collision", M::prefix, {}, K::rekey_collision_outcome, kAnyRole,
     kIke, nullptr, "IKE1 peer did not notice IKE_SA rekey collision, abort active rekeying",
     "sa/ikev2/tasks/ike_rekey.c:318",
     "peer did not notice IKE_SA rekey collision, abort active rekeying", ""},
    {{}, "peer didn't accept DH group ", M::prefix, {}, K::invalid_ke, kI, kNoSa, detail_rest,
     "IKE1 peer didn't accept DH group %N, it requested %N", "sa/ikev2/tasks/ike_init.c:1043",
     "peer didn't accept DH group CURVE_25519, it requested MODP_3072", ""},

    // 'g'
    {{}, "generating IKE_SA_INIT response ", M::suffix, "[ N(COOKIE) ]", K::cookie_sent, kR, kIke,
     cookie_response, "ENC1 generating %s (message: %N %s %u [ ... ])", "encoding/message.c:1742",
     "generating IKE_SA_INIT response 0 [ N(COOKIE) ]", "cookie"},
    {{}, "generating ", M::prefix, {}, K::message_generated, kAnyRole, kNoSa, exchange_and_message_id,
     "ENC1 generating %s (message: %N %s %u [ ... ])", "encoding/message.c:1742",
     "generating INFORMATIONAL response 2 [ ]", "normal"},
    {{}, "giving up after ", M::prefix, {}, K::giving_up, kI, kNoSa, count_and_last_word,
     "IKE1 giving up after %d retransmits | giving up after %d retries (COOKIE)",
     "sa/ikev2/task_manager_v2.c:389, sa/ikev2/tasks/ike_init.c:682",
     "giving up after 2 retransmits", "ikesa-limit"},

    // 'i'
    {{}, "ignoring IKE_SA setup from ", M::contains, ", half-open IKE_SA limit of ", K::half_open_limit, kR,
     kIke, sender_and_limit, "NET1 ignoring IKE_SA setup from %H, half-open IKE_SA limit of %d reached",
     "network/receiver.c:437",
     "ignoring IKE_SA setup from 198.19.0.3, half-open IKE_SA limit of 2 reached", "half-open-limit"},
    {{}, "ignoring IKE_SA setup from ", M::contains, ", half open IKE_SA count of ", K::half_open_limit, kR,
     kIke, sender_and_limit,
     "NET1 ignoring IKE_SA setup from %H, half open IKE_SA count of %d exceeds limit of %d",
     "network/receiver.c (5.9.5 and older)",
     "ignoring IKE_SA setup from 198.19.0.3, half open IKE_SA count of 2 exceeds limit of 2", ""},
    {{}, "ignoring IKE_SA setup from ", M::contains, ", per-IP half-open IKE_SA limit of ",
     K::per_ip_half_open_limit, kR, kIke, sender_and_limit,
     "NET1 ignoring IKE_SA setup from %H, per-IP half-open IKE_SA limit of %d reached",
     "network/receiver.c:428",
     "ignoring IKE_SA setup from 198.19.0.5, per-IP half-open IKE_SA limit of 5 reached", ""},
    {{}, "ignoring IKE_SA setup from ", M::contains, ", peer too aggressive", K::per_ip_half_open_limit, kR,
     kIke, sender, "NET1 ignoring IKE_SA setup from %H, peer too aggressive",
     "network/receiver.c (5.9.5 and older)", "ignoring IKE_SA setup from 198.19.0.5, peer too aggressive",
     ""},
    {{}, "ignoring IKE_SA setup from ", M::contains, ", job load of ", K::job_load_limit, kR, kIke,
     sender_and_load_limit, "NET1 ignoring IKE_SA setup from %H, job load of %d exceeds limit of %d",
     "network/receiver.c:453",
     "ignoring IKE_SA setup from 198.19.0.9, job load of 300 exceeds limit of 200", ""},
    // Any other reason is none of the drops above, nor the IKE_SA limit below.
    {{}, "ignoring IKE_SA setup from ", M::prefix, {}, K::other, kAnyRole, kNoSa, nullptr,
     "NET1 ignoring IKE_SA setup from %H, <reason>", "network/receiver.c", {}, {}},
    {{}, "ignoring ", M::contains, ", hitting IKE_SA limit (", K::ike_sa_limit_hit, kR, kIke,
     exchange_and_limit, "MGR1 ignoring %N, hitting IKE_SA limit (%u)", "sa/ike_sa_manager.c:1411",
     "ignoring IKE_SA_INIT, hitting IKE_SA limit (3)", "ikesa-limit"},
    {{}, "initiating IKE_SA ", M::prefix, {}, K::ike_initiating, kI, kIke, address_after_to,
     "IKE0 initiating IKE_SA %s[%d] to %H", "sa/ikev2/tasks/ike_init.c:674",
     "initiating IKE_SA peer1[1] to 198.18.0.1", "normal"},
    {{}, "inbound CHILD_SA ", M::contains, " established with SPIs ", K::child_rekeyed, kAnyRole, kChild,
     nullptr, "IKE0 %sCHILD_SA %s{%d} established with SPIs %.8x_i %.8x_o and TS %#R === %#R (\"inbound \")",
     "sa/ikev2/tasks/child_create.c:788",
     "inbound CHILD_SA peer1{3} established with SPIs a7e57ceb_i 6091cd0b_o and TS 198.19.128.1/32 === "
     "198.18.255.0/24",
     "rekey"},

    // 'I'
    {{}, "IKE_SA rekey collision ", M::prefix, {}, K::rekey_collision_outcome, kAnyRole, kIke, detail_rest,
     "IKE1 IKE_SA rekey collision won, waiting for delete for redundant IKE_SA %s[%d] | ... lost, "
     "deleting redundant IKE_SA %s[%d]",
     "sa/ikev2/tasks/ike_rekey.c:400, 371",
     "IKE_SA rekey collision won, waiting for delete for redundant IKE_SA peer1[10]", "rekey-collision"},
    {{}, "IKE_SA rekeying failed, trying again", M::prefix, {}, K::rekey_retry, kAnyRole, kIke, nullptr,
     "IKE1 IKE_SA rekeying failed, trying again in %d seconds", "sa/ikev2/tasks/ike_rekey.c:89",
     "IKE_SA rekeying failed, trying again in 5 seconds", ""},
    {{}, "IKE_SA deleted", M::exact, {}, K::ike_destroyed, kAnyRole, kIke, nullptr, "IKE0 IKE_SA deleted",
     "sa/ikev2/tasks/ike_delete.c:84, 208", "IKE_SA deleted", "normal"},
    {{}, "IKE_SA ", M::contains, " established between ", K::ike_established, kAnyRole, kIke,
     addresses_between, "IKE0 IKE_SA %s[%d] established between %H[%Y]...%H[%Y]",
     "sa/ikev2/tasks/ike_establish.c:56",
     "IKE_SA rw[1] established between 198.18.0.1[sut]...198.19.0.1[peer1]", "normal"},
    {{}, "IKE_SA ", M::contains, " rekeyed between ", K::ike_rekeyed, kAnyRole, kIke, addresses_between,
     "IKE0 IKE_SA %s[%d] rekeyed between %H[%Y]...%H[%Y]", "sa/ikev2/tasks/ike_rekey.c:122",
     "IKE_SA peer1[3] rekeyed between 198.19.0.1[peer1]...198.18.0.1[sut]", "rekey"},

    // 'C'
    {{}, "CHILD_SA rekey collision ", M::prefix, {}, K::rekey_collision_outcome, kAnyRole, kChild,
     detail_after_first_word,
     "IKE1 CHILD_SA rekey collision won, deleting old child %s{%d} | ... lost, deleting redundant "
     "child %s{%d}",
     "sa/ikev2/tasks/child_rekey.c:329, 350",
     "CHILD_SA rekey collision won, deleting old child peer2{10}", "rekey-collision"},
    {{}, "CHILD_SA rekey/delete collision", M::prefix, {}, K::rekey_collision_outcome, kAnyRole, kChild,
     detail_after_first_word, "IKE1 CHILD_SA rekey/delete collision, deleting old|redundant child %s{%d}",
     "sa/ikev2/tasks/child_rekey.c:364, 371", "CHILD_SA rekey/delete collision, deleting old child rw{4}",
     ""},
    {{}, "CHILD_SA rekeying failed, trying again", M::prefix, {}, K::rekey_retry, kAnyRole, kChild, nullptr,
     "IKE1 CHILD_SA rekeying failed, trying again in %d seconds", "sa/ikev2/tasks/child_rekey.c:104",
     "CHILD_SA rekeying failed, trying again in 7 seconds", ""},
    {{}, "CHILD_SA ", M::contains, " established with SPIs ", K::child_established, kAnyRole, kChild, nullptr,
     "IKE0 %sCHILD_SA %s{%d} established with SPIs %.8x_i %.8x_o and TS %#R === %#R",
     "sa/ikev2/tasks/child_create.c:788",
     "CHILD_SA peer10{9} established with SPIs cb94ffb3_i eeda9b39_o and TS 198.19.128.10/32 === "
     "198.18.255.0/24",
     "cookie"},

    // 'd'
    {{}, "detected IKE_", M::contains, " collision with ", K::rekey_collision, kAnyRole, kIke,
     detail_after_first_word, "IKE1 detected %N collision with %N", "sa/ikev2/tasks/ike_rekey.c:434",
     "detected IKE_REKEY collision with IKE_REKEY", "rekey-collision"},
    {{}, "detected ", M::contains, " collision with ", K::rekey_collision, kAnyRole, kChild,
     detail_after_first_word, "IKE1 detected %N collision with %N", "sa/ikev2/tasks/child_rekey.c:572",
     "detected CHILD_REKEY collision with CHILD_REKEY", "rekey-collision"},
    {{}, "detected rekey collision for CHILD_SA", M::prefix, {}, K::rekey_collision, kAnyRole, kChild,
     detail_after_first_word, "IKE1 detected rekey collision for CHILD_SA %s{%u}",
     "sa/ikev2/tasks/child_rekey.c (6.0)", "detected rekey collision for CHILD_SA rw{4}", ""},
    {{}, "destroying IKE_SA in state ", M::prefix, {}, K::ike_destroyed, kAnyRole, kIke, nullptr,
     "IKE1 destroying IKE_SA in state %N without notification", "sa/ike_sa.c:1893",
     "destroying IKE_SA in state CONNECTING without notification", "half-open-limit"},
    {{}, "deleting half open IKE_SA with ", M::prefix, {}, K::half_open_timeout, kR, kIke, address_rest,
     "JOB1 deleting half open IKE_SA with %H after timeout", "processing/jobs/delete_ike_sa_job.c:97",
     "deleting half open IKE_SA with 198.19.0.4 after timeout", ""},
    {{}, "deleting IKE_SA ", M::prefix, {}, K::ike_deleting, kAnyRole, kIke, addresses_between_present,
     "IKE0 deleting IKE_SA %s[%d] between %H[%Y]...%H[%Y]", "sa/ikev2/tasks/ike_delete.c:57, 128",
     "deleting IKE_SA peer12[12] between 198.19.0.12[peer12]...198.18.0.1[sut]", "cookie"},

    // 'D'
    {{}, "DH group ", M::contains, " unacceptable, requesting ", K::invalid_ke, kR, kNoSa, detail_rest,
     "IKE1 DH group %N unacceptable, requesting %N", "sa/ikev2/tasks/ike_init.c:891",
     "DH group MODP_3072 unacceptable, requesting CURVE_25519", ""},

    // 'e', 'E'
    {{}, "establishing IKE_SA failed, peer not responding", M::prefix, {}, K::establish_timeout, kI, kIke,
     nullptr, "IKE1 establishing IKE_SA failed, peer not responding", "sa/ike_sa.c:2469",
     "establishing IKE_SA failed, peer not responding", "half-open-limit"},
    {{}, "EAP method ", M::contains, " failed for peer ", K::authentication_failed, kR, kIke, nullptr,
     "IKE1 EAP method %N failed for peer %Y", "sa/ikev2/authenticators/eap_authenticator.c:349",
     "EAP method EAP_MSCHAPV2 failed for peer peer-1.ikestorm.test", ""},

    // 'n'
    {{}, "no acceptable proposal found", M::prefix, {}, K::no_proposal_chosen, kAnyRole, kIke,
     sa_from_ike_name, "IKE1 no acceptable proposal found",
     "sa/ikev2/tasks/ike_init.c:901 (IKE_SA), sa/ikev2/tasks/child_create.c:539 (CHILD_SA)",
     "no acceptable proposal found", "proposal-mismatch"},
    {{}, "no acceptable traffic selectors found", M::prefix, {}, K::ts_unacceptable, kR, kChild, nullptr,
     "IKE1 no acceptable traffic selectors found", "sa/ikev2/tasks/child_create.c:618",
     "no acceptable traffic selectors found", ""},
    {{}, "no shared key found for ", M::prefix, {}, K::authentication_failed, kAnyRole, kIke, nullptr,
     "IKE1 no shared key found for '%Y' - '%Y'", "sa/ikev2/authenticators/psk_authenticator.c:182",
     "no shared key found for 'sut' - 'peer1'", ""},
    {{}, "no trusted ", M::contains, " public key found for ", K::authentication_failed, kAnyRole, kIke,
     nullptr, "IKE1 no trusted %N public key found for '%Y'",
     "sa/ikev2/authenticators/pubkey_authenticator.c:682",
     "no trusted ECDSA public key found for 'sut.ikestorm.test'", ""},
    {{}, "no matching peer config found", M::prefix, {}, K::no_peer_config, kR, kIke, nullptr,
     "CFG1 no matching peer config found", "sa/ikev2/tasks/ike_auth.c:370",
     "no matching peer config found", ""},
    {{}, "no IKE config found for ", M::prefix, {}, K::no_ike_config, kR, kIke, local_and_remote,
     "IKE1 no IKE config found for %H...%H, sending %N", "sa/ikev2/task_manager_v2.c:1925",
     "no IKE config found for 198.18.0.1...198.19.0.1, sending NO_PROPOSAL_CHOSEN", ""},

    // 't'
    {{}, "tried ", M::contains, "but MAC mismatched", K::authentication_failed, kAnyRole, kIke, nullptr,
     "IKE1 tried %d shared key%s for '%Y' - '%Y', but MAC mismatched",
     "sa/ikev2/authenticators/psk_authenticator.c:185",
     "tried 1 shared key for 'sut' - 'peer1', but MAC mismatched", "wrong-psk"},
    {{}, "traffic selectors ", M::suffix, " unacceptable", K::ts_unacceptable, kR, kChild, nullptr,
     "IKE1 traffic selectors %#R === %#R unacceptable", "sa/ikev2/tasks/child_create.c:1601",
     "traffic selectors 198.18.255.0/24 === 198.19.128.1/32 unacceptable", ""},

    // 'u'
    {{}, "unable to allocate SPIs from kernel", M::prefix, {}, K::spi_alloc_failed, kI, kChild, nullptr,
     "IKE1 unable to allocate SPIs from kernel", "sa/ikev2/tasks/child_create.c:1283",
     "unable to allocate SPIs from kernel", ""},
    {{}, "unable to install IPsec policies (SPD) in kernel", M::prefix, {}, K::policy_install_failed,
     kAnyRole, kChild, nullptr, "IKE1 unable to install IPsec policies (SPD) in kernel",
     "sa/ikev2/tasks/child_create.c:757", "unable to install IPsec policies (SPD) in kernel", ""},
    {{}, "unable to install ", M::contains, "IPsec SA (SAD) in kernel", K::sa_install_failed, kAnyRole, kChild,
     nullptr, "IKE1 unable to install %s%s%sIPsec SA (SAD) in kernel",
     "sa/ikev2/tasks/child_create.c:743",
     "unable to install inbound and outbound IPsec SA (SAD) in kernel", ""},
    {{}, "unable to get SPI", M::prefix, {}, K::kernel_error, kAnyRole, kNoSa, nullptr,
     "KNL1 unable to get SPI", "plugins/kernel_netlink/kernel_netlink_ipsec.c:1259", "unable to get SPI",
     ""},
    {{}, "unable to add SAD entry", M::prefix, {}, K::kernel_error, kAnyRole, kNoSa, nullptr,
     "KNL1 unable to add SAD entry with SPI %.8x%s (%N)",
     "plugins/kernel_netlink/kernel_netlink_ipsec.c:2029",
     "unable to add SAD entry with SPI c1a2b3c4 (FAILED)", ""},

    // 'a'
    {{}, "allocating SPI failed", M::exact, {}, K::spi_alloc_failed, kR, kChild, nullptr,
     "IKE1 allocating SPI failed", "sa/ikev2/tasks/child_create.c:551", "allocating SPI failed", ""},
    {{}, "allocating SPI failed: ", M::prefix, {}, K::kernel_error, kAnyRole, kNoSa, nullptr,
     "KNL1 allocating SPI failed: %s (%d)", "plugins/kernel_netlink/kernel_netlink_ipsec.c:1221",
     "allocating SPI failed: No space left on device (28)", ""},

    // 'c'
    {{}, "checkout IKEv2 SA by message with SPIs ", M::prefix, {}, K::sa_checkout, kAnyRole, kNoSa,
     initiator_spi, "MGR2 checkout %N SA by message with SPIs %.16llx_i %.16llx_r",
     "sa/ike_sa_manager.c:1324",
     "checkout IKEv2 SA by message with SPIs d5e6165380e2fad1_i 0000000000000000_r", "ikesa-limit-level2"},
    {{}, "closing expired CHILD_SA ", M::prefix, {}, K::child_expired, kAnyRole, kChild, nullptr,
     "IKE0 closing expired CHILD_SA %s{%d} with SPIs %.8x_i %.8x_o and TS %#R === %#R",
     "sa/ikev2/tasks/child_delete.c:425",
     "closing expired CHILD_SA rw{1} with SPIs c1a2b3c4_i 5d6e7f80_o and TS 198.18.255.0/24 === "
     "198.19.128.1/32",
     ""},

    // 'l'
    {{}, "looking for peer configs matching ", M::prefix, {}, K::peer_config_lookup, kR, kNoSa,
     config_lookup_addresses, "CFG1 looking for peer configs matching %H[%Y]...%H[%Y]",
     "sa/ikev2/tasks/ike_auth.c:338",
     "looking for peer configs matching 198.18.0.1[sut]...198.19.0.10[peer10]", "cookie"},
    {{}, "local host is behind NAT", M::prefix, {}, K::behind_nat, kAnyRole, kIke, detail_first_word,
     "IKE1 local host is behind NAT, sending keep alives", "sa/ike_sa.c:755",
     "local host is behind NAT, sending keep alives", ""},

    // 'v'
    {{}, "verification of AUTH payload with", M::contains, "EAP MSK failed", K::authentication_failed,
     kAnyRole, kIke, nullptr, "IKE1 verification of AUTH payload with%s EAP MSK failed",
     "sa/ikev2/authenticators/eap_authenticator.c:505",
     "verification of AUTH payload with EAP MSK failed", ""},

    // 'S'
    {{}, "Starting IKE charon daemon", M::prefix, {}, K::daemon_start, kAnyRole, kNoSa, nullptr,
     "DMN1 Starting IKE charon daemon (strongSwan %s, %s %s, %s)", "src/charon/charon.c:410",
     "Starting IKE charon daemon (strongSwan 5.9.8, Linux 6.18.44-fc-v657, x86_64)", "normal"},
    {{}, "S", M::suffix, " received, shutting down", K::daemon_stop, kAnyRole, kNoSa, nullptr,
     "DMN1 %s received, shutting down", "src/charon/charon.c:132", "SIGTERM received, shutting down",
     "normal"},

    // An address first: the responder's first line of a new IKE_SA.
    {kAddressStart, "", M::suffix, " is initiating an IKE_SA", K::ike_init_received, kR, kIke, address_first,
     "IKE0 %H is initiating an IKE_SA", "sa/ikev2/tasks/ike_init.c:769",
     "198.19.0.1 is initiating an IKE_SA", "normal"},
});

// ---- lookup: the rows of each first byte, in table order --------------------------------

constexpr bool tried_for(const MessageRule& r, unsigned char b) {
  if (!r.prefix.empty()) return static_cast<unsigned char>(r.prefix[0]) == b;
  if (r.first_bytes.empty()) return true;
  for (char c : r.first_bytes)
    if (static_cast<unsigned char>(c) == b) return true;
  return false;
}

constexpr std::size_t count_entries() {
  std::size_t n = 0;
  for (unsigned b = 0; b < 256; ++b)
    for (const auto& r : kRules) n += tried_for(r, static_cast<unsigned char>(b));
  return n;
}

// A row as the lookup first tries it: up to its first 8 prefix bytes as a word and a mask, so
// that most rows are passed over with one compare and without touching the row itself.
struct Probe {
  uint64_t word = 0;
  uint64_t mask = 0;
  uint8_t row = 0;
};

constexpr Probe probe_of(std::size_t row) {
  Probe p;
  const sv prefix = kRules[row].prefix;
  for (std::size_t i = 0; i < prefix.size() && i < 8; ++i) {
    p.word |= uint64_t{static_cast<unsigned char>(prefix[i])} << (8 * i);
    p.mask |= uint64_t{0xff} << (8 * i);
  }
  p.row = static_cast<uint8_t>(row);
  return p;
}

// The first 8 bytes of a message (zeros after its end), in probe_of's byte order.
inline uint64_t first_word(sv m) {
  uint64_t w = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&w, m.data(), m.size() < 8 ? m.size() : 8);
  } else {
    for (std::size_t i = 0; i < m.size() && i < 8; ++i) w |= uint64_t{static_cast<unsigned char>(m[i])} << (8 * i);
  }
  return w;
}

struct ByFirstByte {
  std::array<uint16_t, 257> begin{};  // probes of byte b: probes[begin[b]] .. probes[begin[b + 1]]
  std::array<Probe, count_entries()> probes{};
};

constexpr ByFirstByte index_rules() {
  static_assert(kRules.size() <= 256, "row numbers are bytes");
  ByFirstByte idx;
  std::size_t n = 0;
  for (unsigned b = 0; b < 256; ++b) {
    idx.begin[b] = static_cast<uint16_t>(n);
    for (std::size_t i = 0; i < kRules.size(); ++i)
      if (tried_for(kRules[i], static_cast<unsigned char>(b))) idx.probes[n++] = probe_of(i);
  }
  idx.begin[256] = static_cast<uint16_t>(n);
  return idx;
}

constexpr ByFirstByte kByFirstByte = index_rules();

// Where the row's text matches the message: the offset of its tail (or the end of its prefix),
// or npos when it does not match.
inline std::size_t match_at(const MessageRule& r, sv m) {
  if (!starts(m, r.prefix)) return sv::npos;
  switch (r.match) {
    case M::prefix: return r.prefix.size();
    case M::exact: return m.size() == r.prefix.size() ? r.prefix.size() : sv::npos;
    case M::contains: return m.find(r.tail, r.prefix.size());
    case M::suffix: return ends(m, r.tail) ? m.size() - r.tail.size() : sv::npos;
  }
  return sv::npos;
}

}  // namespace

std::span<const MessageRule> message_rules() { return kRules; }

const MessageRule* classify_message_text(std::string_view m, LogEvent& e) {
  if (m.empty()) return nullptr;
  auto b = static_cast<unsigned char>(m[0]);
  const uint64_t word = first_word(m);
  for (std::size_t i = kByFirstByte.begin[b]; i < kByFirstByte.begin[b + 1u]; ++i) {
    const Probe& p = kByFirstByte.probes[i];
    if ((word & p.mask) != p.word) continue;
    const MessageRule& r = kRules[p.row];
    std::size_t at = match_at(r, m);
    if (at == sv::npos) continue;
    e.kind = r.kind;
    e.role = r.role;
    e.sa = r.sa;
    if (r.read && !r.read(m, r, at, e)) {
      e.kind = LogEventKind::other;
      e.role = LogRole::unknown;
      e.sa = LogSa::none;
      continue;
    }
    return &r;
  }
  return nullptr;
}

}  // namespace ist::charon
