#include "cli/command.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>

#include "scenario/load.hpp"

namespace ist::cli {
namespace {
std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
}  // namespace

CommandRegistrar::CommandRegistrar(Command c) { registry().push_back(c); }

const std::vector<Command>& commands() {
  auto& r = registry();
  std::stable_sort(r.begin(), r.end(), [](const Command& a, const Command& b) {
    return a.order != b.order ? a.order < b.order : a.name < b.name;
  });
  return r;
}

int fail(std::string_view cmd, std::string_view message, int code) {
  std::cerr << "ikestorm " << cmd << ": " << message << "\n";
  return code;
}

std::optional<int> parse_args(const std::vector<std::string>& args, const Usage& usage,
                              po::options_description options,
                              const po::positional_options_description& positional,
                              po::variables_map& vm) {
  options.add_options()("help,h", "show this help");
  // The command name is the second word of the synopsis.
  std::string cmd = usage.synopsis.substr(0, usage.synopsis.find(' ', 9));
  cmd = cmd.substr(cmd.find(' ') + 1);
  try {
    po::store(po::command_line_parser(args).options(options).positional(positional).run(), vm);
    if (vm.count("help")) {
      std::cout << "usage: " << usage.synopsis << "\n\n" << usage.description << "\n\n"
                << options;
      if (!usage.examples.empty()) std::cout << "\nexamples:\n" << usage.examples << "\n";
      return kExitOk;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "ikestorm " << cmd << ": " << e.what() << "\n"
              << "usage: " << usage.synopsis << "\n"
              << "try 'ikestorm " << cmd << " --help' for more\n";
    return kExitUsage;
  }
  return std::nullopt;
}

std::string scenario_yaml_as_written(const std::string& file) {
  if (file.empty()) return std::string(scenario::default_scenario_yaml());
  std::ifstream in(file, std::ios::binary);
  std::string text(scenario::kMaxScenarioBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(in ? text.size() : static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  return text;
}

}  // namespace ist::cli
