// ikestorm: stress-tests IPsec gateways (a real strongSwan as the system under test).
// The only place exceptions are caught: everything below reports faults as Result values.
#include <cstring>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.hpp"
#include "cli/version.hpp"
#include "common/log.hpp"

namespace {

void print_usage(std::ostream& os) {
  os << "usage: ikestorm [--verbose|--quiet] COMMAND [ARGS...]\n\n"
        "Stress-tests IPsec gateways: builds private network namespaces, starts a real\n"
        "strongSwan (charon) as the system under test, drives IKEv2 peers against it and\n"
        "classifies every failure into the Windows-documented IPsec error codes.\n\n"
        "commands:\n";
  for (const auto& c : ist::cli::commands()) {
    std::string name(c.name);
    name.resize(10, ' ');
    os << "  " << name << c.summary << "\n";
  }
  os << "\n'ikestorm COMMAND --help' explains each command. 'ikestorm run' with no file runs\n"
        "the built-in default scenario.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global flags before the command.
  while (!args.empty() && args.front().size() > 1 && args.front()[0] == '-') {
    const std::string& a = args.front();
    if (a == "--help" || a == "-h") {
      print_usage(std::cout);
      return ist::cli::kExitOk;
    }
    if (a == "--version") {
      std::cout << "ikestorm " << ist::cli::kVersion << "\n";
      return ist::cli::kExitOk;
    }
    if (a == "--verbose" || a == "-v") {
      ist::log::set_level(ist::log::Level::debug);
    } else if (a == "--quiet" || a == "-q") {
      ist::log::set_level(ist::log::Level::warn);
    } else {
      std::cerr << "ikestorm: unknown option '" << a << "'\n";
      print_usage(std::cerr);
      return ist::cli::kExitUsage;
    }
    args.erase(args.begin());
  }
  if (args.empty()) {
    print_usage(std::cerr);
    return ist::cli::kExitUsage;
  }
  const std::string name = args.front();
  args.erase(args.begin());
  for (const auto& c : ist::cli::commands()) {
    if (c.name == name) {
      try {
        return c.main(args);
      } catch (const std::exception& e) {
        std::cerr << "ikestorm " << name << ": internal error: " << e.what() << "\n";
        return ist::cli::kExitHarnessFault;
      }
    }
  }
  std::cerr << "ikestorm: unknown command '" << name << "'\n";
  print_usage(std::cerr);
  return ist::cli::kExitUsage;
}
