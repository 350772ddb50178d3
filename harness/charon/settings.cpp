#include "charon/settings.hpp"

#include <array>
#include <charconv>
#include <cstdio>

#include "charon/conf_syntax.hpp"
#include "charon/tuned_defaults.hpp"

namespace ist::charon {

std::string_view to_string(Role r) { return r == Role::sut ? "sut" : "initiator"; }

FileLog default_filelog(Role role, std::string path) {
  FileLog log;
  log.path = std::move(path);
  log.default_level = role == Role::sut ? 1 : 0;
  return log;
}

CharonSettings default_settings(Role role, Backend backend) {
  CharonSettings s;
  s.role = role;
  s.backend = backend;
  s.filelog = default_filelog(role, "");
  return s;
}

namespace {

constexpr std::array<std::string_view, 17> kSubsystems = {
    "dmn", "mgr", "ike", "chd", "job", "cfg", "knl", "net", "asn",
    "enc", "tnc", "imc", "imv", "pts", "tls", "esp", "lib"};

std::string format_number(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

// Typed knobs in render order; unset ones are skipped.
std::vector<std::pair<std::string_view, std::string>> typed_knobs(const Tuning& t) {
  std::vector<std::pair<std::string_view, std::string>> out;
  auto u = [&](std::string_view k, const std::optional<uint32_t>& v) {
    if (v) out.emplace_back(k, std::to_string(*v));
  };
  auto d = [&](std::string_view k, const std::optional<double>& v) {
    if (v) out.emplace_back(k, format_number(*v));
  };
  auto b = [&](std::string_view k, const std::optional<bool>& v) {
    if (v) out.emplace_back(k, yes_no(*v));
  };
  u("ikesa_limit", t.ikesa_limit);
  u("init_limit_half_open", t.init_limit_half_open);
  u("init_limit_job_load", t.init_limit_job_load);
  u("cookie_threshold", t.cookie_threshold);
  u("block_threshold", t.block_threshold);
  u("threads", t.threads);
  u("ikesa_table_size", t.ikesa_table_size);
  u("ikesa_table_segments", t.ikesa_table_segments);
  b("reuse_ikesa", t.reuse_ikesa);
  if (t.spi_min) out.emplace_back("spi_min", hex32(*t.spi_min));
  if (t.spi_max) out.emplace_back("spi_max", hex32(*t.spi_max));
  u("retransmit_tries", t.retransmit_tries);
  d("retransmit_timeout", t.retransmit_timeout);
  d("retransmit_base", t.retransmit_base);
  u("retransmit_jitter", t.retransmit_jitter);
  d("retransmit_limit", t.retransmit_limit);
  b("make_before_break", t.make_before_break);
  b("install_routes", t.install_routes);
  b("install_virtual_ip", t.install_virtual_ip);
  return out;
}

Status check_tuning(const Tuning& t) {
  if (t.threads && *t.threads < 4)
    return Error("charon.threads must be at least 4 (charon needs threads for its own watchers)");
  if (t.ikesa_table_size && (*t.ikesa_table_size == 0 || (*t.ikesa_table_size & (*t.ikesa_table_size - 1))))
    return Error("charon.ikesa_table_size must be a power of two");
  if (t.ikesa_table_segments &&
      (*t.ikesa_table_segments == 0 || (*t.ikesa_table_segments & (*t.ikesa_table_segments - 1))))
    return Error("charon.ikesa_table_segments must be a power of two");
  if (t.spi_min && t.spi_max && *t.spi_min > *t.spi_max)
    return Error("charon.spi_min must not be above charon.spi_max");
  if (t.retransmit_jitter && *t.retransmit_jitter > 100)
    return Error("charon.retransmit_jitter is a percentage (0-100)");
  for (const auto* v : {&t.retransmit_timeout, &t.retransmit_base, &t.retransmit_limit})
    if (*v && !(**v >= 0)) return Error("charon.retransmit_* times must be non-negative numbers");
  return ok();
}

Status check_filelog(const FileLog& log) {
  auto level_ok = [](int l) { return l >= -1 && l <= 4; };
  if (!level_ok(log.default_level)) return Error("filelog default level must be -1..4");
  for (const auto& [sub, level] : log.levels) {
    bool known = false;
    for (auto s : kSubsystems) known = known || s == sub;
    if (!known) return Error("unknown charon log subsystem '" + sub + "'");
    if (!level_ok(level)) return Error("filelog level for " + sub + " must be -1..4");
  }
  return ok();
}

}  // namespace

Status check_user_key(std::string_view dotted) {
  auto refuse = [&](std::string_view why) {
    return Error("charon." + std::string(dotted) + " is set by the harness (" + std::string(why) +
                 ") and cannot be overridden");
  };
  if (dotted == "load" || dotted == "load_modular")
    return refuse("it loads an explicit plugin list with load_modular = no");
  if (dotted == "plugins.vici" || dotted == "plugins.vici.socket" ||
      dotted.starts_with("plugins.vici.socket."))
    return refuse("each daemon needs its own vici socket");
  if (dotted == "filelog" || dotted.starts_with("filelog."))
    return refuse("the log format is what the log parser reads");
  if (dotted == "charon" || dotted.starts_with("charon."))
    return Error("setting '" + std::string(dotted) +
                 "': keys are already below charon; drop the leading 'charon.'");
  for (auto seg : split_conf_path(dotted))
    if (!is_valid_conf_name(seg))
      return Error("invalid setting name 'charon." + std::string(dotted) +
                   "': each dotted part must be letters, digits, '_' or '-'");
  return ok();
}

Result<ConfTree> charon_settings_tree(const CharonSettings& s) {
  IST_TRY(check_tuning(s.tuning));
  IST_TRY(check_filelog(s.filelog));
  if (s.vici_socket.empty()) return Error("charon settings: no vici socket path");
  if (s.vici_socket.front() != '/') return Error("charon settings: vici socket path must be absolute");
  for (const auto& [k, v] : s.user_keys) IST_TRY(check_user_key(k));

  ConfTree t;
  // Harness-owned keys first.
  IST_TRY(t.set("load_modular", "no"));
  std::string load;
  for (const auto& p : plugin_list(s.backend, s.extra_plugins)) load += (load.empty() ? "" : " ") + p;
  IST_TRY(t.set("load", load));
  for (const auto& d : tuned_defaults())
    if (applies_to(d, s.role)) IST_TRY(t.set(d.key, d.value));
  for (const auto& [k, v] : typed_knobs(s.tuning)) IST_TRY(t.set(k, v));
  for (const auto& [k, v] : s.user_keys)
    if (auto st = t.set(k, v); !st) return std::move(st).error().wrap("charon user settings");

  const std::string log = "filelog.ikestorm.";
  IST_TRY(t.set(log + "path", s.filelog.path.empty() ? "stderr" : s.filelog.path));
  IST_TRY(t.set(log + "append", "no"));
  IST_TRY(t.set(log + "flush_line", yes_no(s.filelog.flush_line)));
  IST_TRY(t.set(log + "ike_name", "yes"));
  IST_TRY(t.set(log + "time_format", kLogTimeFormat));
  IST_TRY(t.set(log + "time_add_ms", "yes"));
  IST_TRY(t.set(log + "default", std::to_string(s.filelog.default_level)));
  for (const auto& [sub, level] : s.filelog.levels) IST_TRY(t.set(log + sub, std::to_string(level)));
  IST_TRY(t.set("plugins.vici.socket", "unix://" + s.vici_socket));
  return t;
}

Result<std::string> render_strongswan_conf(const CharonSettings& s) {
  IST_TRY_ASSIGN(ConfTree tree, charon_settings_tree(s));
  std::string out = "# strongswan.conf for an ikestorm " + std::string(to_string(s.role)) +
                    " charon (" + std::string(to_string(s.backend)) +
                    " backend). Generated; edits are overwritten.\n";
  out += "charon {\n";
  std::string body = tree.render();
  // Indent the charon section's body by one level.
  std::size_t start = 0;
  while (start < body.size()) {
    std::size_t nl = body.find('\n', start);
    out += "  " + body.substr(start, nl - start + 1);
    start = nl + 1;
  }
  out += "}\n";
  return out;
}

}  // namespace ist::charon
