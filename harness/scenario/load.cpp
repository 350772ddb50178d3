#include "scenario/load.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <system_error>

#include "scenario/paths.hpp"
#include "scenario/validate.hpp"
#include "scenario/validate/sweep.hpp"

namespace ist::scenario {
namespace {

void set_origin(Node& n, const Origin& o) {
  n.origin = o;
  for (auto& i : n.items) set_origin(i, o);
  for (auto& e : n.entries) {
    e.key_origin = o;
    set_origin(e.value, o);
  }
}

// An override's value read as YAML; text that is not valid YAML stays a plain string.
Node override_value(const Override& ov) {
  const Origin origin{ov.label, 0, 0};
  if (ov.value.empty()) return Node::make_scalar("", origin, false);
  const std::string value = sanitize_utf8(ov.value);
  Diagnostics ignored;
  Node n = parse_yaml(value, ov.label, ignored);
  if (!ignored.empty()) return Node::make_scalar(value, origin, true);
  set_origin(n, origin);
  return n;
}

std::string sanitized_name(std::string stem) {
  for (char& c : stem) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) c = '-';
  }
  if (stem.size() > 64) stem.resize(64);
  return stem.empty() ? "scenario" : stem;
}

}  // namespace

Result<Override> parse_set(std::string_view arg) {
  const auto eq = arg.find('=');
  if (eq == std::string_view::npos) {
    return Error("--set " + sanitize_utf8(arg) + ": expected KEY=VALUE, e.g. --set peers.count=100");
  }
  Override ov{sanitize_utf8(arg.substr(0, eq)), std::string(arg.substr(eq + 1)), ""};
  ov.label = "--set " + ov.path;
  if (auto why = check_path(ov.path)) return Error("--set " + sanitize_utf8(arg) + ": " + *why);
  return ov;
}

Override peers_override(std::string_view count) {
  return Override{"peers.count", std::string(count), "--peers"};
}

std::optional<std::string> set_path(Node& root, std::string_view path, Node value,
                                    const Origin& key_origin, const std::string& added_by) {
  if (auto why = check_path(path)) return why;
  const auto parts = split_path(path);
  Node* cur = &root;
  std::string walked;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    if (cur->is_null()) *cur = Node::make_map(key_origin);
    Node* next = nullptr;
    if (cur->is_map()) {
      next = &cur->at_or_add(part, key_origin, added_by);
    } else if (cur->is_sequence()) {
      std::size_t index = 0;
      auto r = std::from_chars(part.data(), part.data() + part.size(), index);
      if (r.ec != std::errc() || r.ptr != part.data() + part.size()) {
        return "'" + walked + "' is a list: '" + part + "' is not an index (0-based)";
      }
      if (index >= cur->items.size()) {
        return "'" + walked + "' has " + std::to_string(cur->items.size()) +
               " entries; no index " + part;
      }
      next = &cur->items[index];
    } else {
      return "'" + walked + "' is a value, not a section with keys";
    }
    walked = walked.empty() ? part : walked + "." + part;
    if (last) {
      *next = std::move(value);
      return std::nullopt;
    }
    cur = next;
  }
  return std::nullopt;
}

LoadOutcome load_text(std::string_view text, const LoadOptions& options) {
  LoadOutcome out;
  Diagnostics& diag = out.diagnostics;
  Node root = parse_yaml(text, options.source, diag);
  if (!diag.empty()) return out;

  if (root.is_map()) {
    for (const auto& ov : options.overrides) {
      if (auto why = set_path(root, ov.path, override_value(ov), Origin{ov.label, 0, 0})) {
        diag.add(Origin{ov.label, 0, 0}, *why);
      }
    }
  }
  const std::size_t before_sweep = diag.count();
  const auto axes = validation::read_sweep(root, diag);
  const ValidateContext ctx{options.base_dir, options.default_name, options.known_codes,
                            options.target_host_check};
  if (diag.count() != before_sweep) {
    // The sweep cannot be expanded: still report what else is wrong with the document.
    Node base = root;
    if (base.is_map()) base.erase("sweep");
    validate(base, ctx, diag);
    return out;
  }

  Loaded loaded;
  loaded.source = options.source;
  loaded.document = root.to_json();
  for (const auto& a : axes) loaded.sweep_axes.push_back(a.path);

  Node base = root;
  if (base.is_map()) base.erase("sweep");
  std::vector<std::size_t> index(axes.size(), 0);
  bool done = false;
  while (!done) {
    Node doc = base;
    SweepPoint point;
    bool placed = true;
    for (std::size_t a = 0; a < axes.size(); ++a) {
      const Node& v = axes[a].values[index[a]];
      point.parameters[axes[a].path] = v.text();
      if (auto why = set_path(doc, axes[a].path, v, axes[a].key_origin,
                              "sweep path '" + axes[a].path + "'")) {
        diag.add(axes[a].key_origin, "sweep path '" + axes[a].path + "': " + *why);
        placed = false;
      }
    }
    if (placed) {
      if (auto s = validate(doc, ctx, diag)) {
        point.scenario = std::move(*s);
        point.document = doc.to_json();
        loaded.points.push_back(std::move(point));
      }
    }
    // Next point: the last axis varies fastest; done when every axis wrapped.
    done = true;
    for (std::size_t a = axes.size(); a-- > 0;) {
      if (++index[a] < axes[a].values.size()) {
        done = false;
        break;
      }
      index[a] = 0;
    }
  }
  if (!diag.empty()) return out;
  out.loaded = std::move(loaded);
  return out;
}

LoadOutcome load_file(const std::filesystem::path& file, const std::vector<Override>& overrides,
                      const std::vector<std::string>& known_codes, const TargetHostCheckFn& target_host_check) {
  LoadOptions opt{file.string(), file.parent_path(), sanitized_name(file.stem().string()), overrides,
                  known_codes, target_host_check};
  if (opt.base_dir.empty()) opt.base_dir = ".";
  std::error_code ec;
  const Origin where{file.string(), 0, 0};
  if (std::filesystem::is_directory(file, ec)) {
    LoadOutcome out;
    out.diagnostics.add(where, "is a folder, not a scenario file");
    return out;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    LoadOutcome out;
    out.diagnostics.add(where, std::string("cannot read: ") +
                                   (std::filesystem::exists(file, ec) ? "permission denied"
                                                                      : "no such file"));
    return out;
  }
  std::string text;
  text.resize(kMaxScenarioBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxScenarioBytes) {
    LoadOutcome out;
    out.diagnostics.add(where, "larger than 1 MiB; a scenario file is small YAML text");
    return out;
  }
  return load_text(text, opt);
}

std::string_view default_scenario_yaml() {
  return R"(name: default
description: >-
  The built-in scenario: 1,000 peers with pre-shared keys arrive at 500 per second,
  stay up for 10 seconds, then tear down. IKE SAs rekey every 8 hours and CHILD SAs
  every hour, so no rekey happens; it measures setup rate and latency.
peers:
  count: 1000
  auth: psk
  arrival: { rate: 500/s }
  ike: { rekey_time: 8h }
  child: { rekey_time: 1h }
phases:
  - connect: {}
  - hold: { duration: 10s }
  - teardown: {}
)";
}

LoadOutcome load_default(const std::vector<Override>& overrides,
                         const std::vector<std::string>& known_codes, const TargetHostCheckFn& target_host_check) {
  std::error_code ec;
  auto cwd = std::filesystem::current_path(ec);
  return load_text(default_scenario_yaml(), LoadOptions{"<default scenario>", ec ? "." : cwd,
                                                        "default", overrides, known_codes, target_host_check});
}

Scenario default_scenario() {
  auto out = load_default();
  if (!out.ok() || out.loaded->points.size() != 1) {
    // A broken built-in scenario is a bug in this file; the unit tests load it.
    std::fprintf(stderr, "built-in default scenario is invalid:\n%s\n", out.diagnostics.str().c_str());
    std::abort();
  }
  return std::move(out.loaded->points.front().scenario);
}

Result<Loaded> load(const std::filesystem::path& file, const std::vector<Override>& overrides) {
  auto out = load_file(file, overrides);
  if (!out.ok()) return out.diagnostics.to_error();
  return std::move(*out.loaded);
}

}  // namespace ist::scenario
