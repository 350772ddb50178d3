#pragma once
// strongswan.conf for one harness charon: the `charon { ... }` section, typed where the
// harness has an opinion, plus free-form user keys (scenario `sut.charon.*` /
// `peers.charon.*`). Rendering is deterministic: same settings, same bytes.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "charon/conf_tree.hpp"
#include "charon/plugins.hpp"
#include "common/result.hpp"

namespace ist::charon {

enum class Role { sut, initiator };
std::string_view to_string(Role r);

// A charon filelog. Lines carry the IKE_SA name and a millisecond timestamp so the log
// parser can join them with vici events: "2026-11-23T18:48:01.871 10[IKE] <sut|3> ...".
struct FileLog {
  std::string path;                  // empty: the log goes to stderr (the instance's .out file)
  int default_level = 1;             // -1 (silent) .. 4
  std::map<std::string, int> levels; // per subsystem: ike, cfg, knl, net, job, enc, chd, ...
  bool flush_line = true;            // the log is followed live; costs one write per line
};
// Responders log at level 1 (what the classifier needs); initiators at 0 (audit lines only:
// the fleet follows them through vici events).
FileLog default_filelog(Role role, std::string path);
inline constexpr std::string_view kLogTimeFormat = "%Y-%m-%dT%H:%M:%S";  // + ".mmm" (time_add_ms)

// Typed charon.* knobs. Unset fields take the tuned default (tuned_defaults.hpp) for the
// role, or else charon's own default (nothing is written).
struct Tuning {
  std::optional<uint32_t> ikesa_limit;           // 0 = unlimited
  std::optional<uint32_t> init_limit_half_open;
  std::optional<uint32_t> init_limit_job_load;
  std::optional<uint32_t> cookie_threshold;      // 0 = never ask for cookies
  std::optional<uint32_t> block_threshold;       // half-open SAs per peer IP
  std::optional<uint32_t> threads;
  std::optional<uint32_t> ikesa_table_size;
  std::optional<uint32_t> ikesa_table_segments;
  std::optional<bool> reuse_ikesa;
  std::optional<uint32_t> spi_min;               // written as 0x%08x
  std::optional<uint32_t> spi_max;
  std::optional<uint32_t> retransmit_tries;
  std::optional<double> retransmit_timeout;      // seconds
  std::optional<double> retransmit_base;
  std::optional<uint32_t> retransmit_jitter;     // percent
  std::optional<double> retransmit_limit;        // seconds, 0 = none
  std::optional<bool> make_before_break;
  std::optional<bool> install_routes;
  std::optional<bool> install_virtual_ip;
};

struct CharonSettings {
  Role role = Role::sut;
  Backend backend = Backend::libipsec;
  std::vector<std::string> extra_plugins;       // e.g. auth_plugins(AuthPlugins::pubkey)
  std::string vici_socket;                      // filesystem path; written as unix://<path>
  Tuning tuning;
  FileLog filelog;
  // Dotted paths below charon ("ikesa_limit", "plugins.kernel-netlink.mtu") -> value. They
  // override the typed knobs and the tuned defaults. Harness-owned keys are refused.
  std::map<std::string, std::string> user_keys;
};

// Settings for a role with its usual log level (default_filelog) and no overrides; the
// instance fills in the socket and log paths.
CharonSettings default_settings(Role role, Backend backend);

// Refuses keys the harness must own: load, load_modular, plugins.vici.socket and anything
// under filelog (and a leading "charon.", which would nest charon in charon).
Status check_user_key(std::string_view dotted);

// The charon section's settings, in render order: harness-owned keys, tuned defaults,
// typed knobs, user keys. Exposed so the run can report the effective values.
Result<ConfTree> charon_settings_tree(const CharonSettings& s);

// The whole strongswan.conf text.
Result<std::string> render_strongswan_conf(const CharonSettings& s);

}  // namespace ist::charon
