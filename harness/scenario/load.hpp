#pragma once
// Reading a scenario: file (or the built-in default) -> YAML tree -> --set overrides ->
// sweep expansion -> one validated Scenario per sweep point. All problems are collected with
// their origin ("file:line:col: ..." or "--set a.b: ...").
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "scenario/diagnostics.hpp"
#include "scenario/doc.hpp"
#include "scenario/model.hpp"
#include "scenario/validate.hpp"

namespace ist::scenario {

// One `--set a.b.c=value`. The value is read as YAML ("[a, b]", "{rate: 5/s}", "30m").
struct Override {
  std::string path;   // "peers.child.rekey_time"; sweep.X / expect.X take the rest as one key
  std::string value;  // "5m"
  std::string label;  // how messages name it: "--set peers.child.rekey_time" or "--peers"
};

// "a.b.c=value" -> Override; Error when there is no '=' or the path is empty or malformed.
Result<Override> parse_set(std::string_view arg);
// `--peers N` is `--set peers.count=N`.
Override peers_override(std::string_view count);

struct SweepPoint {
  Scenario scenario;
  std::map<std::string, std::string> parameters;  // axis path -> value as written; {} without sweep
  nlohmann::json document;                        // this point's document (no sweep block)
};

struct Loaded {
  nlohmann::json document;            // the effective document after --set (report `scenario`)
  std::vector<std::string> sweep_axes;  // in file order; empty without sweep
  std::vector<SweepPoint> points;     // cartesian product, last axis varying fastest; >= 1
  std::string source;                 // the file as given, or "<default scenario>"
};

struct LoadOutcome {
  std::optional<Loaded> loaded;  // set only when there were no problems
  Diagnostics diagnostics;
  bool ok() const { return loaded.has_value(); }
};

inline constexpr std::size_t kMaxSweepPoints = 1000;
inline constexpr std::size_t kMaxScenarioBytes = 1 << 20;

struct LoadOptions {
  std::string source;              // name in messages, e.g. the file path as given
  std::filesystem::path base_dir;  // sut.config paths are relative to this
  std::string default_name;        // scenario name when the document has none
  std::vector<Override> overrides;
  std::vector<std::string> known_codes;  // code names expect's codes.NAME may use; empty: any
  TargetHostCheckFn target_host_check;   // target: judged against this host (see validate.hpp)
};

LoadOutcome load_text(std::string_view text, const LoadOptions& options);
// Reads the file (at most 1 MiB); base_dir = its folder, default name = its stem.
// known_codes: see LoadOptions (the CLI passes the taxonomy's code names).
LoadOutcome load_file(const std::filesystem::path& file, const std::vector<Override>& overrides = {},
                      const std::vector<std::string>& known_codes = {},
                      const TargetHostCheckFn& target_host_check = {});
// The built-in default scenario (see default_scenario_yaml), with overrides.
LoadOutcome load_default(const std::vector<Override>& overrides = {},
                         const std::vector<std::string>& known_codes = {},
                         const TargetHostCheckFn& target_host_check = {});
// Same, as Result: the Error message lists every problem, one per line.
Result<Loaded> load(const std::filesystem::path& file, const std::vector<Override>& overrides = {});

// 1,000 peers, psk, arrival 500/s, connect + hold 10s + teardown, IKE rekey 8h, CHILD rekey
// 1h, expect established_ratio >= 1. What `ikestorm run` runs without a file.
std::string_view default_scenario_yaml();
Scenario default_scenario();

// Sets `path` in a document tree to `value` (creating maps on the way; a numeric component
// indexes a list, 0-based). Keys created get `key_origin` and `added_by` (named in an
// unknown-key message). Returns why not, or nullopt.
std::optional<std::string> set_path(Node& root, std::string_view path, Node value,
                                    const Origin& key_origin, const std::string& added_by = "");

}  // namespace ist::scenario
