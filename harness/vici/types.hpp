#pragma once
// Typed views of what charon answers and raises, parsed from vici messages. Parsers are
// lenient about keys charon omits (fields keep their defaults) and strict about numbers
// that are present but not numbers (an Error names the key).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/result.hpp"
#include "vici/message.hpp"

namespace ist::vici {

// The reply of most control commands: success = yes|no, errmsg on failure. A daemon that
// says "no" is data (the SUT refused), not a harness Error.
struct Outcome {
  bool success = false;
  std::string errmsg;
};
Outcome parse_outcome(const Message& reply);

struct VersionInfo {
  std::string daemon, version, sysname, release, machine;
};
VersionInfo parse_version(const Message& reply);

struct Stats {
  std::string uptime_running, uptime_since;
  uint64_t workers_total = 0, workers_idle = 0;
  struct ByPriority {
    uint64_t critical = 0, high = 0, medium = 0, low = 0;
  };
  ByPriority workers_active, queues;
  uint64_t scheduled = 0;
  uint64_t ikesas_total = 0, ikesas_half_open = 0;
  std::vector<std::string> plugins;
  std::optional<uint64_t> mallinfo_used;  // with mallinfo() support
};
Result<Stats> parse_stats(const Message& reply);

struct ChildSaInfo {
  std::string name;          // CHILD_SA config name
  uint32_t uniqueid = 0;
  uint32_t reqid = 0;
  std::string state;         // INSTALLED, REKEYING, ...
  std::string mode, protocol;
  bool encap = false;
  std::string spi_in, spi_out;  // hex
  std::optional<uint64_t> rekey_time_s, life_time_s, install_time_s;
  uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  std::vector<std::string> local_ts, remote_ts;
};

struct IkeSaInfo {
  std::string name;          // IKE_SA config name
  uint32_t uniqueid = 0;
  int version = 0;
  std::string state;         // CONNECTING, ESTABLISHED, REKEYING, DELETING, ...
  std::string local_host, local_port, local_id;
  std::string remote_host, remote_port, remote_id;
  bool initiator = false;
  std::string initiator_spi, responder_spi;  // hex
  bool nat_any = false;
  std::optional<uint64_t> established_s, rekey_time_s, reauth_time_s;
  std::vector<ChildSaInfo> children;
};

// `body` is the section under the IKE_SA's name.
Result<IkeSaInfo> parse_ike_sa(std::string_view name, const Message& body);
Result<ChildSaInfo> parse_child_sa(std::string_view key, const Message& body);
// One list-sa event: {<name> = {...}}.
Result<IkeSaInfo> parse_list_sa_event(const Message& event);

struct ConnInfo {
  std::string name;
  std::string version;  // IKEv1 | IKEv2 | 0
  std::vector<std::string> local_addrs, remote_addrs;
  std::vector<std::string> children;  // CHILD_SA config names
};
// One list-conn event: {<name> = {...}}.
Result<ConnInfo> parse_list_conn_event(const Message& event);

// ---- events
struct IkeUpDown {
  bool up = false;
  IkeSaInfo sa;
};
struct ChildUpDown {
  bool up = false;
  IkeSaInfo ike;       // its children hold the affected CHILD_SA
};
struct IkeRekey {
  std::string name;
  IkeSaInfo old_sa, new_sa;
};
struct ChildRekey {
  IkeSaInfo ike;       // without children
  ChildSaInfo old_child, new_child;
};
struct LogEvent {
  std::string group;
  int level = 0;
  uint64_t thread = 0;
  std::string ike_name;
  std::optional<uint32_t> ike_uniqueid;
  std::string msg;
};

Result<IkeUpDown> parse_ike_updown(const Message& event);
Result<ChildUpDown> parse_child_updown(const Message& event);
Result<IkeRekey> parse_ike_rekey(const Message& event);
Result<ChildRekey> parse_child_rekey(const Message& event);
Result<LogEvent> parse_log(const Message& event);

// get-counters (counters plugin): per connection name ("" = global), counter -> value.
struct Counters {
  bool supported = true;  // false: the daemon has no get-counters (no counters plugin)
  std::vector<std::pair<std::string, std::vector<std::pair<std::string, uint64_t>>>> by_name;
};
Result<Counters> parse_counters(const Message& reply);

// Unsigned decimal value of `key`, nullopt when absent, Error when not a number.
Result<std::optional<uint64_t>> get_u64(const Message& m, std::string_view key);

}  // namespace ist::vici
