#pragma once
// Subcommands register themselves: each cmd_*.cpp defines one `static CommandRegistrar`.
// They are compiled straight into the ikestorm executable, so the registrars are kept.
#include <boost/program_options.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ist::cli {

// Exit codes (docs/design.md, "Outcomes and exit codes"): the highest that applies wins.
inline constexpr int kExitOk = 0;
inline constexpr int kExitExpectationFailed = 1;  // also: `codes` no match, `compare` tripped
inline constexpr int kExitUsage = 2;              // bad scenario or arguments
inline constexpr int kExitHarnessFault = 3;
inline constexpr int kExitLeak = 4;

using CommandMain = int (*)(const std::vector<std::string>& args);

struct Command {
  std::string_view name;
  std::string_view summary;  // one line for `ikestorm --help`
  CommandMain main;
  int order = 50;            // position in the help listing
};

struct CommandRegistrar {
  explicit CommandRegistrar(Command c);
};

const std::vector<Command>& commands();

namespace po = boost::program_options;

// Everything a subcommand needs to describe itself for --help.
struct Usage {
  std::string synopsis;     // "ikestorm codes [QUERY] [--json]"
  std::string description;  // paragraphs; shown after the synopsis
  std::string examples;     // optional, shown last
};

// Parses args against `options` (+ positional). Adds --help. On --help prints usage and
// returns 0; on a bad option prints "ikestorm <cmd>: <what>" and the synopsis to stderr
// and returns 2. Returns nullopt when the command should go on.
std::optional<int> parse_args(const std::vector<std::string>& args, const Usage& usage,
                              po::options_description options,
                              const po::positional_options_description& positional,
                              po::variables_map& vm);

// "ikestorm <cmd>: <message>" to stderr; returns `code`.
int fail(std::string_view cmd, std::string_view message, int code);

// The scenario's text as the user wrote it (report `scenario_yaml`): the file's content, or
// the built-in default scenario's when `file` is "". The file was loaded and checked just
// before; if it cannot be read again the text is "" (report.html then shows the document).
std::string scenario_yaml_as_written(const std::string& file);

}  // namespace ist::cli
