#include "charon/log_parser.hpp"

#include <array>
#include <cstring>

namespace ist::charon {
namespace {

using sv = std::string_view;
using K = LogEventKind;

constexpr bool starts(sv s, sv p) { return s.size() >= p.size() && s.compare(0, p.size(), p) == 0; }
constexpr bool ends(sv s, sv p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Decimal at the start of s (at most 18 digits); -1 when none.
int64_t leading_int(sv s) {
  int64_t v = 0;
  std::size_t i = 0;
  for (; i < s.size() && i < 18 && is_digit(s[i]); ++i) v = v * 10 + (s[i] - '0');
  return i == 0 ? -1 : v;
}

// Decimal right after the first occurrence of `marker` in s; -1 when absent.
int64_t int_after(sv s, sv marker) {
  std::size_t p = s.find(marker);
  return p == sv::npos ? -1 : leading_int(s.substr(p + marker.size()));
}

// An address as %H / %#H prints it: up to a space, '[' (port), ',' or the end. Empty when the
// token does not look like an IPv4/IPv6 address.
sv take_addr(sv s) {
  std::size_t i = 0;
  while (i < s.size() && i < 64 && s[i] != ' ' && s[i] != '[' && s[i] != ',') ++i;
  sv a = s.substr(0, i);
  if (a.empty() || !(is_hex(a[0]) || a[0] == ':' || a[0] == '%')) return {};
  return a;
}

sv after(sv s, sv marker) {
  std::size_t p = s.find(marker);
  return p == sv::npos ? sv{} : s.substr(p + marker.size());
}

// "%H[%Y]": the identity inside the brackets following the address.
sv bracket_after_addr(sv s) {
  std::size_t open = s.find('[');
  if (open == sv::npos) return {};
  std::size_t close = s.find(']', open + 1);
  if (close == sv::npos) return {};
  return s.substr(open + 1, close - open - 1);
}

// ---- timestamps ------------------------------------------------------------------------

constexpr std::array<int, 12> kDaysBeforeMonth = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

int month_index(sv m) {
  static constexpr std::array<sv, 12> names = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (m == names[static_cast<std::size_t>(i)]) return i;
  return -1;
}

// "HH:MM:SS[.mmm]" at s; returns ms of the day and the length consumed, or -1.
int64_t parse_clock(sv s, std::size_t& len) {
  if (s.size() < 8 || !is_digit(s[0]) || !is_digit(s[1]) || s[2] != ':' || !is_digit(s[3]) ||
      !is_digit(s[4]) || s[5] != ':' || !is_digit(s[6]) || !is_digit(s[7]))
    return -1;
  int h = (s[0] - '0') * 10 + (s[1] - '0');
  int m = (s[3] - '0') * 10 + (s[4] - '0');
  int sec = (s[6] - '0') * 10 + (s[7] - '0');
  if (h > 23 || m > 59 || sec > 60) return -1;
  int64_t ms = ((h * 60 + m) * 60 + sec) * int64_t{1000};
  len = 8;
  if (s.size() >= 12 && s[8] == '.' && is_digit(s[9]) && is_digit(s[10]) && is_digit(s[11])) {
    ms += (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    len = 12;
  }
  return ms;
}

// "%b %e %T[.mmm] " (e.g. "Nov 23 18:48:06.490 ", "Nov  3 ...") or "%F %T[.mmm] ".
// On success sets t_ms and returns the offset after the timestamp and its space.
std::size_t parse_timestamp(sv line, int64_t& t_ms) {
  if (line.size() >= 16 && is_upper(line[0]) && line[3] == ' ') {
    int mon = month_index(line.substr(0, 3));
    if (mon < 0) return 0;
    char d1 = line[4], d2 = line[5];
    if (!(d1 == ' ' || is_digit(d1)) || !is_digit(d2) || line[6] != ' ') return 0;
    int day = (d1 == ' ' ? 0 : (d1 - '0') * 10) + (d2 - '0');
    if (day < 1 || day > 31) return 0;
    std::size_t len = 0;
    int64_t clock = parse_clock(line.substr(7), len);
    if (clock < 0) return 0;
    std::size_t end = 7 + len;
    if (end < line.size() && line[end] == ' ') ++end;
    t_ms = (kDaysBeforeMonth[static_cast<std::size_t>(mon)] + day - 1) * int64_t{86'400'000} + clock;
    return end;
  }
  if (line.size() >= 20 && is_digit(line[0]) && line[4] == '-' && line[7] == '-' &&
      (line[10] == ' ' || line[10] == 'T')) {
    int64_t mon = leading_int(line.substr(5, 2));
    int64_t day = leading_int(line.substr(8, 2));
    if (mon < 1 || mon > 12 || day < 1 || day > 31) return 0;
    std::size_t len = 0;
    int64_t clock = parse_clock(line.substr(11), len);
    if (clock < 0) return 0;
    std::size_t end = 11 + len;
    if (end < line.size() && line[end] == ' ') ++end;
    t_ms = (kDaysBeforeMonth[static_cast<std::size_t>(mon - 1)] + day - 1) * int64_t{86'400'000} +
           clock;
    return end;
  }
  return 0;
}

// ---- thread / subsystem prefix ---------------------------------------------------------

LogSubsystem subsystem_of(const char* g) {
  // Dispatch on the first letter; the group names are fixed (file_logger.c / debug.c).
  auto is = [g](const char* n) { return g[0] == n[0] && g[1] == n[1] && g[2] == n[2]; };
  switch (g[0]) {
    case 'A': return is("APP") ? LogSubsystem::APP : is("ASN") ? LogSubsystem::ASN : LogSubsystem::unknown;
    case 'C': return is("CFG") ? LogSubsystem::CFG : is("CHD") ? LogSubsystem::CHD : LogSubsystem::unknown;
    case 'D': return is("DMN") ? LogSubsystem::DMN : LogSubsystem::unknown;
    case 'E': return is("ENC") ? LogSubsystem::ENC : is("ESP") ? LogSubsystem::ESP : LogSubsystem::unknown;
    case 'I':
      return is("IKE") ? LogSubsystem::IKE : is("IMC") ? LogSubsystem::IMC
           : is("IMV") ? LogSubsystem::IMV : LogSubsystem::unknown;
    case 'J': return is("JOB") ? LogSubsystem::JOB : LogSubsystem::unknown;
    case 'K': return is("KNL") ? LogSubsystem::KNL : LogSubsystem::unknown;
    case 'L': return is("LIB") ? LogSubsystem::LIB : LogSubsystem::unknown;
    case 'M': return is("MGR") ? LogSubsystem::MGR : LogSubsystem::unknown;
    case 'N': return is("NET") ? LogSubsystem::NET : LogSubsystem::unknown;
    case 'P': return is("PTS") ? LogSubsystem::PTS : LogSubsystem::unknown;
    case 'T': return is("TLS") ? LogSubsystem::TLS : is("TNC") ? LogSubsystem::TNC : LogSubsystem::unknown;
    default: return LogSubsystem::unknown;
  }
}

// Tries "NN[GRP] " / "NN[GRPn] " at `pos`. On success fills the event and returns the offset
// of what follows; 0 otherwise.
std::size_t parse_thread_prefix(sv line, std::size_t pos, LogEvent& e) {
  std::size_t i = pos;
  int thread = 0;
  while (i < line.size() && i - pos < 4 && is_digit(line[i])) thread = thread * 10 + (line[i++] - '0');
  if (i - pos < 2 || i + 6 > line.size() || line[i] != '[') return 0;
  const char* g = line.data() + i + 1;
  if (!is_upper(g[0]) || !is_upper(g[1]) || !is_upper(g[2])) return 0;
  std::size_t j = i + 4;
  int level = -1;
  if (j < line.size() && is_digit(line[j])) level = line[j++] - '0';
  if (j + 1 >= line.size() + 1 || j >= line.size() || line[j] != ']') return 0;
  LogSubsystem sub = subsystem_of(g);
  if (sub == LogSubsystem::unknown) return 0;
  ++j;
  if (j < line.size()) {
    if (line[j] != ' ') return 0;
    ++j;
  }
  e.thread = thread;
  e.subsystem = sub;
  e.level = level;
  return j;
}

// Syslog/journal lines put host and program names before the prefix: look for it a little
// further on, right after a space.
std::size_t find_thread_prefix(sv line, std::size_t from, LogEvent& e) {
  if (std::size_t p = parse_thread_prefix(line, from, e)) return p;
  std::size_t limit = line.size() < 160 ? line.size() : 160;
  for (std::size_t i = from; i + 1 < limit; ++i) {
    if (line[i] == ' ' && is_digit(line[i + 1]))
      if (std::size_t p = parse_thread_prefix(line, i + 1, e)) return p;
  }
  return 0;
}

// "<conn|uid> " or "<uid> " at pos.
std::size_t parse_ike_name(sv line, std::size_t pos, LogEvent& e) {
  if (pos >= line.size() || line[pos] != '<') return pos;
  std::size_t limit = line.size() < pos + 256 ? line.size() : pos + 256;
  std::size_t close = sv::npos;
  for (std::size_t i = pos + 1; i < limit; ++i)
    if (line[i] == '>') { close = i; break; }
  if (close == sv::npos || close + 1 >= line.size() || line[close + 1] != ' ') return pos;
  sv inner = line.substr(pos + 1, close - pos - 1);
  std::size_t bar = inner.rfind('|');
  sv uid = bar == sv::npos ? inner : inner.substr(bar + 1);
  int64_t id = leading_int(uid);
  if (id < 0 || static_cast<std::size_t>(uid.size()) > 10 || id > 0xffffffffLL) return pos;
  for (char c : uid)
    if (!is_digit(c)) return pos;
  e.unique_id = static_cast<uint32_t>(id);
  if (bar != sv::npos) e.conn = inner.substr(0, bar);
  return close + 2;
}

// ---- messages --------------------------------------------------------------------------

void set(LogEvent& e, K kind, LogRole role = LogRole::unknown, LogSa sa = LogSa::none) {
  e.kind = kind;
  e.role = role;
  e.sa = sa;
}

// "received %N notify error" / "received %N notify, no CHILD_SA built" / "..., will retry later"
void classify_received_notify(sv m, LogEvent& e) {
  sv rest = m.substr(9);  // after "received "
  std::size_t sp = rest.find(' ');
  if (sp == sv::npos || sp == 0) return;
  sv name = rest.substr(0, sp);
  sv tail = rest.substr(sp);
  if (!is_upper(name[0])) return;
  LogSa sa;
  if (tail == " notify error") {
    sa = LogSa::ike;
  } else if (starts(tail, " notify, no CHILD_SA built")) {
    sa = LogSa::child;
  } else if (starts(tail, " notify, will retry later")) {
    set(e, K::rekey_retry, LogRole::initiator, LogSa::child);
    e.detail = name;
    return;
  } else if (tail == " notify" && name == "COOKIE") {
    set(e, K::cookie_received, LogRole::initiator, LogSa::ike);
    return;
  } else {
    return;
  }
  e.detail = name;
  if (name == "NO_PROPOSAL_CHOSEN") set(e, K::no_proposal_chosen, LogRole::initiator, sa);
  else if (name == "AUTHENTICATION_FAILED") set(e, K::authentication_failed, LogRole::initiator, sa);
  else if (name == "TS_UNACCEPTABLE") set(e, K::ts_unacceptable, LogRole::initiator, sa);
  else set(e, K::notify_error, LogRole::initiator, sa);
}

// "parsed|generating %N request|response %u [ ... ]"
void classify_message(sv rest, LogEvent& e, bool generated) {
  std::size_t sp = rest.find(' ');
  if (sp == sv::npos || sp == 0 || !is_upper(rest[0])) return;
  sv exchange = rest.substr(0, sp);
  sv tail = rest.substr(sp + 1);
  bool request = starts(tail, "request ");
  bool response = starts(tail, "response ");
  if (!request && !response) return;
  sv num = tail.substr(request ? 8 : 9);
  e.number = leading_int(num);
  e.detail = exchange;
  if (exchange == "IKE_SA_INIT" && response && e.number == 0 && ends(num, "[ N(COOKIE) ]")) {
    if (generated) set(e, K::cookie_sent, LogRole::responder, LogSa::ike);
    else set(e, K::cookie_received, LogRole::initiator, LogSa::ike);
    return;
  }
  // role: the side that sends requests of this exchange... a rekey by either side makes it
  // unknowable from one line, so only IKE_SA_INIT is given a role.
  LogRole role = LogRole::unknown;
  if (exchange == "IKE_SA_INIT")
    role = (generated == request) ? LogRole::initiator : LogRole::responder;
  set(e, generated ? K::message_generated : K::message_parsed, role);
}

// Malformed messages the responder refused (ENC and NET lines of the receiving side).
bool classify_payload_error(sv m, LogEvent& e) {
  constexpr sv verify = " payload verification failed";
  if (m.size() > verify.size() && m.substr(m.size() - verify.size()) == verify) {
    set(e, K::payload_error, LogRole::responder, LogSa::ike);
    e.detail = m.substr(0, m.size() - verify.size());
    return true;
  }
  if (starts(m, "payload type ")) {
    sv rest = m.substr(13);
    if (std::size_t p = rest.find(" could not be parsed"); p != sv::npos) {
      set(e, K::payload_error, LogRole::responder, LogSa::ike);
      e.detail = rest.substr(0, p);
      return true;
    }
    if (std::size_t p = rest.find(" is not supported, but payload is critical!"); p != sv::npos) {
      set(e, K::critical_payload, LogRole::responder, LogSa::ike);
      e.detail = rest.substr(0, p);
      return true;
    }
  }
  if (starts(m, "invalid DH public value size ")) {
    set(e, K::payload_error, LogRole::responder, LogSa::ike);
    e.detail = m.substr(8, 15);  // "DH public value": views always point into the line
    return true;
  }
  if (starts(m, "received unsupported IKE version ")) {
    set(e, K::unsupported_version, LogRole::responder, LogSa::ike);
    e.address = take_addr(after(m, " from "));
    e.detail = m.substr(33, m.find(' ', 33) - 33);  // "3.0"
    return true;
  }
  return false;
}

void classify_message_text(sv m, LogEvent& e) {
  if (m.empty()) return;
  if (classify_payload_error(m, e)) return;
  switch (m[0]) {
    case 'r':
      if (starts(m, "received packet: from ")) {
        sv from = m.substr(22);
        e.kind = K::packet_received;
        e.address = take_addr(from);
        e.local = take_addr(after(from, " to "));
      } else if (starts(m, "retransmit ")) {
        if (m.find(" of request with message ID ") != sv::npos) {
          set(e, K::retransmit);
          e.number = leading_int(m.substr(11));
          e.message_id = int_after(m, "message ID ");
        }
      } else if (starts(m, "received proposals unacceptable")) {
        set(e, K::no_proposal_chosen, LogRole::responder, LogSa::ike);
      } else if (starts(m, "received DELETE for IKE_SA ")) {
        set(e, K::delete_received, LogRole::unknown, LogSa::ike);
        e.detail = m.substr(27);
      } else if (starts(m, "received DELETE for ")) {
        set(e, K::delete_received, LogRole::unknown, LogSa::child);
        e.detail = m.substr(20);
      } else if (starts(m, "received netlink error: ")) {
        set(e, K::kernel_error);
      } else if (starts(m, "received ")) {
        classify_received_notify(m, e);
      } else if (starts(m, "remote host is behind NAT")) {
        set(e, K::behind_nat, LogRole::unknown, LogSa::ike);
        e.detail = m.substr(0, 6);  // "remote"
      } else if (starts(m, "rekeying IKE_SA failed, peer not responding")) {
        set(e, K::rekey_timeout, LogRole::initiator, LogSa::ike);
      }
      return;
    case 's':
      if (starts(m, "sending packet: from ")) {
        sv from = m.substr(21);
        e.kind = K::packet_sent;
        e.local = take_addr(from);
        e.address = take_addr(after(from, " to "));
      } else if (starts(m, "sending COOKIE notify to ")) {
        set(e, K::cookie_notify_to, LogRole::responder, LogSa::ike);
        e.address = take_addr(m.substr(25));
      } else if (starts(m, "sending DELETE for IKE_SA ")) {
        set(e, K::delete_sent, LogRole::unknown, LogSa::ike);
        e.detail = m.substr(26);
      } else if (starts(m, "sending DELETE for ")) {
        set(e, K::delete_sent, LogRole::unknown, LogSa::child);
        e.detail = m.substr(19);
      }
      return;
    case 'p':
      if (starts(m, "parsed ")) {
        classify_message(m.substr(7), e, false);
      } else if (starts(m, "peer did not notice IKE_SA rekey collision")) {
        set(e, K::rekey_collision_outcome, LogRole::unknown, LogSa::ike);
      } else if (starts(m, "peer didn't accept DH group ")) {
        set(e, K::invalid_ke, LogRole::initiator);
        e.detail = m.substr(28);
      }
      return;
    case 'g':
      if (starts(m, "generating ")) {
        classify_message(m.substr(11), e, true);
      } else if (starts(m, "giving up after ")) {
        set(e, K::giving_up, LogRole::initiator);
        e.number = leading_int(m.substr(16));
        std::size_t sp = m.rfind(' ');
        e.detail = m.substr(sp + 1);  // "retransmits" | "retries"
      }
      return;
    case 'i':
      if (starts(m, "ignoring IKE_SA setup from ")) {
        sv rest = m.substr(27);
        e.address = take_addr(rest);
        sv why = rest.substr(e.address.size());
        if (starts(why, ", half-open IKE_SA limit of ") || starts(why, ", half open IKE_SA count of ")) {
          set(e, K::half_open_limit, LogRole::responder, LogSa::ike);
          e.number = starts(why, ", half-open") ? leading_int(why.substr(28)) : int_after(why, "limit of ");
        } else if (starts(why, ", per-IP half-open IKE_SA limit of ")) {
          set(e, K::per_ip_half_open_limit, LogRole::responder, LogSa::ike);
          e.number = leading_int(why.substr(35));
        } else if (starts(why, ", peer too aggressive")) {
          set(e, K::per_ip_half_open_limit, LogRole::responder, LogSa::ike);
        } else if (starts(why, ", job load of ")) {
          set(e, K::job_load_limit, LogRole::responder, LogSa::ike);
          e.number = int_after(why, "exceeds limit of ");
        } else {
          e.address = {};
        }
      } else if (starts(m, "ignoring ")) {
        std::size_t p = m.find(", hitting IKE_SA limit (");
        if (p != sv::npos) {
          set(e, K::ike_sa_limit_hit, LogRole::responder, LogSa::ike);
          e.detail = m.substr(9, p - 9);
          e.number = leading_int(m.substr(p + 24));
        }
      } else if (starts(m, "initiating IKE_SA ")) {
        set(e, K::ike_initiating, LogRole::initiator, LogSa::ike);
        e.address = take_addr(after(m.substr(18), " to "));
      } else if (starts(m, "inbound CHILD_SA ")) {
        if (m.find(" established with SPIs ") != sv::npos) set(e, K::child_rekeyed, LogRole::unknown, LogSa::child);
      }
      return;
    case 'I':
      if (starts(m, "IKE_SA ")) {
        sv rest = m.substr(7);
        if (starts(rest, "rekey collision ")) {
          set(e, K::rekey_collision_outcome, LogRole::unknown, LogSa::ike);
          e.detail = rest.substr(16);
        } else if (starts(rest, "rekeying failed, trying again")) {
          set(e, K::rekey_retry, LogRole::unknown, LogSa::ike);
        } else if (rest == "deleted") {
          set(e, K::ike_destroyed, LogRole::unknown, LogSa::ike);
        } else {
          bool est = rest.find(" established between ") != sv::npos;
          bool rek = !est && rest.find(" rekeyed between ") != sv::npos;
          if (est || rek) {
            set(e, est ? K::ike_established : K::ike_rekeyed, LogRole::unknown, LogSa::ike);
            sv between = after(rest, " between ");
            e.local = take_addr(between);
            sv remote = after(between, "...");
            e.address = take_addr(remote);
            e.detail = bracket_after_addr(remote);
          }
        }
      }
      return;
    case 'C':
      if (starts(m, "CHILD_SA ")) {
        sv rest = m.substr(9);
        if (starts(rest, "rekey collision ") || starts(rest, "rekey/delete collision")) {
          set(e, K::rekey_collision_outcome, LogRole::unknown, LogSa::child);
          e.detail = rest;
        } else if (starts(rest, "rekeying failed, trying again")) {
          set(e, K::rekey_retry, LogRole::unknown, LogSa::child);
        } else if (rest.find(" established with SPIs ") != sv::npos) {
          set(e, K::child_established, LogRole::unknown, LogSa::child);
        }
      }
      return;
    case 'd':
      if (starts(m, "detected ")) {
        if (m.find(" collision with ") != sv::npos || starts(m, "detected rekey collision for CHILD_SA")) {
          set(e, K::rekey_collision, LogRole::unknown, starts(m, "detected IKE_") ? LogSa::ike : LogSa::child);
          e.detail = m.substr(9);
        }
      } else if (starts(m, "destroying IKE_SA in state ")) {
        set(e, K::ike_destroyed, LogRole::unknown, LogSa::ike);
      } else if (starts(m, "deleting half open IKE_SA with ")) {
        set(e, K::half_open_timeout, LogRole::responder, LogSa::ike);
        e.address = take_addr(m.substr(31));
      } else if (starts(m, "deleting IKE_SA ")) {
        sv between = after(m, " between ");
        if (!between.empty()) {
          set(e, K::ike_deleting, LogRole::unknown, LogSa::ike);
          e.local = take_addr(between);
          sv remote = after(between, "...");
          e.address = take_addr(remote);
          e.detail = bracket_after_addr(remote);
        }
      }
      return;
    case 'D':
      if (starts(m, "DH group ") && m.find(" unacceptable, requesting ") != sv::npos) {
        set(e, K::invalid_ke, LogRole::responder);
        e.detail = m.substr(9);
      }
      return;
    case 'e':
      if (starts(m, "establishing IKE_SA failed, peer not responding"))
        set(e, K::establish_timeout, LogRole::initiator, LogSa::ike);
      return;
    case 'E':
      if (starts(m, "EAP method ") && m.find(" failed for peer ") != sv::npos)
        set(e, K::authentication_failed, LogRole::responder, LogSa::ike);
      return;
    case 'n':
      if (starts(m, "no acceptable proposal found")) {
        // child_create.c once an IKE_SA exists (the prefix then names the connection),
        // ike_init.c (IKE_SA_INIT) before that.
        set(e, K::no_proposal_chosen, LogRole::unknown, e.conn.empty() ? LogSa::ike : LogSa::child);
      } else if (starts(m, "no acceptable traffic selectors found")) {
        set(e, K::ts_unacceptable, LogRole::responder, LogSa::child);
      } else if (starts(m, "no shared key found for ")) {
        set(e, K::authentication_failed, LogRole::unknown, LogSa::ike);
      } else if (starts(m, "no trusted ") && m.find(" public key found for ") != sv::npos) {
        set(e, K::authentication_failed, LogRole::unknown, LogSa::ike);
      } else if (starts(m, "no matching peer config found")) {
        set(e, K::no_peer_config, LogRole::responder, LogSa::ike);
      } else if (starts(m, "no IKE config found for ")) {
        set(e, K::no_ike_config, LogRole::responder, LogSa::ike);
        sv rest = m.substr(24);
        e.local = take_addr(rest);
        e.address = take_addr(after(rest, "..."));
      }
      return;
    case 't':
      if (starts(m, "tried ") && m.find("but MAC mismatched") != sv::npos) {
        set(e, K::authentication_failed, LogRole::unknown, LogSa::ike);
      } else if (starts(m, "traffic selectors ") && ends(m, " unacceptable")) {
        set(e, K::ts_unacceptable, LogRole::responder, LogSa::child);
      }
      return;
    case 'u':
      if (starts(m, "unable to allocate SPIs from kernel")) {
        set(e, K::spi_alloc_failed, LogRole::initiator, LogSa::child);
      } else if (starts(m, "unable to install IPsec policies (SPD) in kernel")) {
        set(e, K::policy_install_failed, LogRole::unknown, LogSa::child);
      } else if (starts(m, "unable to install ") && m.find("IPsec SA (SAD) in kernel") != sv::npos) {
        set(e, K::sa_install_failed, LogRole::unknown, LogSa::child);
      } else if (starts(m, "unable to get SPI") || starts(m, "unable to add SAD entry")) {
        set(e, K::kernel_error);
      }
      return;
    case 'a':
      if (m == "allocating SPI failed") set(e, K::spi_alloc_failed, LogRole::responder, LogSa::child);
      else if (starts(m, "allocating SPI failed: ")) set(e, K::kernel_error);
      return;
    case 'c':
      if (starts(m, "checkout IKEv2 SA by message with SPIs ")) {
        sv spi = m.substr(39);
        std::size_t n = 0;
        while (n < spi.size() && n < 16 && is_hex(spi[n])) ++n;
        if (n == 16 && starts(spi.substr(16), "_i")) {
          e.kind = K::sa_checkout;
          e.detail = spi.substr(0, 16);
        }
      } else if (starts(m, "closing expired CHILD_SA ")) {
        set(e, K::child_expired, LogRole::unknown, LogSa::child);
      }
      return;
    case 'l':
      if (starts(m, "looking for peer configs matching ")) {
        sv rest = m.substr(34);
        e.kind = K::peer_config_lookup;
        e.role = LogRole::responder;
        e.local = take_addr(rest);
        sv remote = after(rest, "...");
        e.address = take_addr(remote);
        e.detail = bracket_after_addr(remote);
      } else if (starts(m, "local host is behind NAT")) {
        set(e, K::behind_nat, LogRole::unknown, LogSa::ike);
        e.detail = m.substr(0, 5);  // "local"
      }
      return;
    case 'v':
      if (starts(m, "verification of AUTH payload with") && m.find("EAP MSK failed") != sv::npos)
        set(e, K::authentication_failed, LogRole::unknown, LogSa::ike);
      return;
    case 'S':
      if (starts(m, "Starting IKE charon daemon")) e.kind = K::daemon_start;
      else if (ends(m, " received, shutting down")) e.kind = K::daemon_stop;
      return;
    default:
      if ((is_hex(m[0]) || m[0] == ':') && ends(m, " is initiating an IKE_SA")) {
        set(e, K::ike_init_received, LogRole::responder, LogSa::ike);
        e.address = take_addr(m);
      }
      return;
  }
}

constexpr std::array<sv, kLogEventKindCount> kKindNames = {
    "other", "ike_sa_limit_hit", "half_open_limit", "per_ip_half_open_limit", "job_load_limit",
    "cookie_sent", "cookie_notify_to", "cookie_received", "half_open_timeout",
    "no_proposal_chosen", "no_ike_config", "no_peer_config", "authentication_failed",
    "ts_unacceptable", "notify_error", "invalid_ke", "payload_error", "critical_payload",
    "unsupported_version", "spi_alloc_failed", "sa_install_failed",
    "policy_install_failed", "kernel_error", "retransmit", "giving_up", "establish_timeout",
    "rekey_timeout", "rekey_collision", "rekey_collision_outcome", "rekey_retry", "ike_rekeyed",
    "child_rekeyed", "ike_initiating", "ike_init_received", "ike_established",
    "child_established", "behind_nat", "delete_received", "delete_sent", "ike_deleting",
    "ike_destroyed", "peer_config_lookup", "child_expired", "packet_received", "packet_sent", "message_parsed",
    "message_generated", "sa_checkout", "daemon_start", "daemon_stop"};

}  // namespace

std::string_view to_string(LogEventKind kind) {
  auto i = static_cast<std::size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : sv("other");
}

std::optional<LogEventKind> log_event_kind_from_string(std::string_view name) {
  for (std::size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name) return static_cast<LogEventKind>(i);
  return std::nullopt;
}

std::string_view to_string(LogSubsystem s) {
  static constexpr std::array<sv, 19> names = {"", "DMN", "MGR", "IKE", "CHD", "JOB", "CFG",
                                               "KNL", "NET", "ASN", "ENC", "TNC", "IMC", "IMV",
                                               "PTS", "TLS", "APP", "ESP", "LIB"};
  auto i = static_cast<std::size_t>(s);
  return i < names.size() ? names[i] : sv();
}

LogEvent parse_log_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  LogEvent e;
  e.raw = line;
  std::size_t pos = parse_timestamp(line, e.t_ms);
  pos = find_thread_prefix(line, pos, e);
  if (pos == 0) {
    e.t_ms = -1;
    e.message = line;
    return e;
  }
  pos = parse_ike_name(line, pos, e);
  e.message = line.substr(pos);
  classify_message_text(e.message, e);
  return e;
}

// ---- joiner ----------------------------------------------------------------------------

namespace {

bool emitted(LogEventKind k) {
  switch (k) {
    case K::other: case K::packet_received: case K::packet_sent: case K::message_parsed:
    case K::message_generated: case K::sa_checkout: case K::cookie_notify_to:
    case K::peer_config_lookup: case K::ike_destroyed:
      return false;
    default:
      return true;
  }
}

JoinedLogEvent join_base(const LogEvent& e) {
  JoinedLogEvent j;
  j.kind = e.kind;
  j.role = e.role;
  j.sa = e.sa;
  j.t_ms = e.t_ms;
  j.thread = e.thread;
  j.unique_id = e.unique_id;
  j.number = e.number;
  j.conn = e.conn;
  j.detail = e.detail;
  j.peer_address = e.address;
  j.local_address = e.local;
  j.raw = e.raw;
  if (e.unique_id) j.attempt = "uid:" + std::to_string(e.unique_id);
  return j;
}

constexpr std::size_t kMaxContext = 8;

}  // namespace

LogJoiner::SaState* LogJoiner::find_sa(const LogEvent& e) {
  if (!e.unique_id) return nullptr;
  if (auto it = sas_.find(e.unique_id); it != sas_.end()) return &it->second;
  if (auto it = destroyed_.find(e.unique_id); it != destroyed_.end()) return &it->second;
  return nullptr;
}

LogJoiner::SaState* LogJoiner::sa_of(const LogEvent& e) {
  if (SaState* sa = find_sa(e)) return sa;
  return e.unique_id ? &sas_[e.unique_id] : nullptr;
}

void LogJoiner::feed_impl(const LogEvent& e, Sink sink, void* ctx) {
  if (!is_charon_line(e)) {
    ++other_lines_;
    return;
  }
  ++charon_lines_;

  // A COOKIE response (level 1) names its address only on the next line of its thread.
  if (auto it = pending_by_thread_.find(e.thread); it != pending_by_thread_.end()) {
    if (e.kind == K::packet_sent && it->second.peer_address.empty()) it->second.peer_address = e.address;
    sink(ctx, it->second);
    pending_by_thread_.erase(it);
    if (e.kind == K::packet_sent) return;
  }

  // Outgoing lines that follow "IKE_SA deleted" (the delete's response) must not bring the
  // SA's state back, so only incoming and naming lines create it.
  if (e.kind == K::ike_destroyed) {
    auto it = e.unique_id ? sas_.find(e.unique_id) : sas_.end();
    if (it != sas_.end()) {
      if (destroyed_order_.size() >= kDestroyedKept) {
        destroyed_.erase(destroyed_order_.front());
        destroyed_order_.pop_front();
      }
      destroyed_.insert_or_assign(it->first, std::move(it->second));
      destroyed_order_.push_back(it->first);
      sas_.erase(it);
    }
    return;
  }
  SaState* sa = (e.kind == K::packet_sent || e.kind == K::message_generated) ? find_sa(e) : sa_of(e);
  switch (e.kind) {
    case K::packet_received:
    case K::packet_sent:
      if (sa) {
        if (sa->peer_address.empty()) sa->peer_address = e.address;
        if (sa->local_address.empty()) sa->local_address = e.local;
      }
      return;
    case K::message_generated:
    case K::message_parsed:
      if (sa && !e.detail.empty()) sa->exchange = e.detail;
      if (sa && e.role != LogRole::unknown && sa->role == LogRole::unknown) sa->role = e.role;
      return;
    case K::sa_checkout:
      checkout_spi_by_thread_[e.thread] = e.detail;
      return;
    case K::cookie_notify_to:
      cookie_addr_by_thread_[e.thread] = e.address;
      return;
    case K::ike_initiating:
    case K::ike_init_received:
      if (sa) {
        sa->role = e.role;
        sa->peer_address = e.address;
      }
      break;
    case K::peer_config_lookup:
    case K::ike_established:
    case K::ike_deleting:
      if (sa) {
        if (!e.detail.empty()) sa->peer_id = e.detail;
        if (!e.address.empty()) sa->peer_address = e.address;
        if (!e.local.empty()) sa->local_address = e.local;
      }
      break;
    case K::retransmit:
      if (sa && sa->retransmits.size() < kMaxContext) sa->retransmits.emplace_back(e.raw);
      break;
    default:
      break;
  }
  if (!emitted(e.kind)) return;

  JoinedLogEvent j = join_base(e);
  if (sa) {
    if (j.role == LogRole::unknown) j.role = sa->role;
    if (j.peer_address.empty()) j.peer_address = sa->peer_address;
    if (j.local_address.empty()) j.local_address = sa->local_address;
    j.peer_id = sa->peer_id;
    j.exchange = sa->exchange;
  }
  switch (e.kind) {
    case K::ike_sa_limit_hit:
      j.exchange = std::string(e.detail);
      if (auto it = checkout_spi_by_thread_.find(e.thread); it != checkout_spi_by_thread_.end()) {
        j.attempt = "spi:" + it->second;
        checkout_spi_by_thread_.erase(it);
      }
      break;
    case K::half_open_limit:
    case K::per_ip_half_open_limit:
    case K::job_load_limit:
    case K::half_open_timeout:
      j.exchange = "IKE_SA_INIT";
      break;
    case K::cookie_sent:
      j.exchange = "IKE_SA_INIT";
      if (auto it = cookie_addr_by_thread_.find(e.thread); it != cookie_addr_by_thread_.end()) {
        j.peer_address = it->second;
        cookie_addr_by_thread_.erase(it);
      } else if (j.peer_address.empty()) {
        pending_by_thread_[e.thread] = std::move(j);
        return;
      }
      break;
    case K::giving_up:
    case K::establish_timeout:
    case K::rekey_timeout:
      if (sa) j.context = sa->retransmits;
      break;
    case K::rekey_collision:
      if (sa) {
        std::size_t i = e.sa == LogSa::ike ? 0 : 1;
        bool same = sa->collision_t[i] >= 0 && e.t_ms >= 0 &&
                    e.t_ms - sa->collision_t[i] <= kCollisionWindowMs;
        if (!same) sa->collision_key[i] = j.attempt + "@" + std::to_string(e.t_ms);
        sa->collision_t[i] = e.t_ms;
        j.attempt = sa->collision_key[i];
      }
      break;
    default:
      break;
  }
  sink(ctx, j);
}

void LogJoiner::finish_impl(Sink sink, void* ctx) {
  for (auto& [thread, j] : pending_by_thread_) sink(ctx, j);
  pending_by_thread_.clear();
}

}  // namespace ist::charon
