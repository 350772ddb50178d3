#include "charon/log_parser.hpp"

#include <array>
#include <cstring>

#include "charon/log_messages.hpp"
#include "charon/log_text.hpp"

namespace ist::charon {
namespace {

using namespace text;
using K = LogEventKind;

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
  if (release_pending(e, sink, ctx)) return;

  // Outgoing lines that follow "IKE_SA deleted" (the delete's response) must not bring the
  // SA's state back, so only incoming and naming lines create it.
  if (e.kind == K::ike_destroyed) {
    forget_sa(e.unique_id);
    return;
  }
  SaState* sa = (e.kind == K::packet_sent || e.kind == K::message_generated) ? find_sa(e) : sa_of(e);
  remember(e, sa);
  if (!emitted(e.kind)) return;

  JoinedLogEvent j = join_base(e);
  if (sa) {
    if (j.role == LogRole::unknown) j.role = sa->role;
    if (j.peer_address.empty()) j.peer_address = sa->peer_address;
    if (j.local_address.empty()) j.local_address = sa->local_address;
    j.peer_id = sa->peer_id;
    j.exchange = sa->exchange;
  }
  if (complete(e, sa, j)) sink(ctx, j);
}

// A COOKIE response (level 1) names its address only on the next line of its thread.
bool LogJoiner::release_pending(const LogEvent& e, Sink sink, void* ctx) {
  auto it = pending_by_thread_.find(e.thread);
  if (it == pending_by_thread_.end()) return false;
  if (e.kind == K::packet_sent && it->second.peer_address.empty()) it->second.peer_address = e.address;
  sink(ctx, it->second);
  pending_by_thread_.erase(it);
  return e.kind == K::packet_sent;
}

void LogJoiner::forget_sa(uint32_t unique_id) {
  auto it = unique_id ? sas_.find(unique_id) : sas_.end();
  if (it == sas_.end()) return;
  if (destroyed_order_.size() >= kDestroyedKept) {
    destroyed_.erase(destroyed_order_.front());
    destroyed_order_.pop_front();
  }
  destroyed_.insert_or_assign(it->first, std::move(it->second));
  destroyed_order_.push_back(it->first);
  sas_.erase(it);
}

// What the line tells about its SA (or thread) for the lines that follow.
void LogJoiner::remember(const LogEvent& e, SaState* sa) {
  switch (e.kind) {
    case K::packet_received:
    case K::packet_sent:
      if (sa) {
        if (sa->peer_address.empty()) sa->peer_address = e.address;
        if (sa->local_address.empty()) sa->local_address = e.local;
      }
      break;
    case K::message_generated:
    case K::message_parsed:
      if (sa && !e.detail.empty()) sa->exchange = e.detail;
      if (sa && e.role != LogRole::unknown && sa->role == LogRole::unknown) sa->role = e.role;
      break;
    case K::sa_checkout:
      checkout_spi_by_thread_[e.thread] = e.detail;
      break;
    case K::cookie_notify_to:
      cookie_addr_by_thread_[e.thread] = e.address;
      break;
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
}

// The joins of particular kinds. False when the event waits for the next line of its thread.
bool LogJoiner::complete(const LogEvent& e, SaState* sa, JoinedLogEvent& j) {
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
        return false;
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
  return true;
}

void LogJoiner::finish_impl(Sink sink, void* ctx) {
  for (auto& [thread, j] : pending_by_thread_) sink(ctx, j);
  pending_by_thread_.clear();
}

}  // namespace ist::charon
