// ikestorm codes [QUERY] [--json] [--kind win32|ntstatus]: the Windows IPsec code table.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/command.hpp"
#include "taxonomy/codes.hpp"

namespace ist::cli {
namespace {

int codes_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm codes [QUERY] [--json] [--kind win32|ntstatus]",
      "Looks up the Windows IPsec error codes that ikestorm classifies failures into\n"
      "(win32 ERROR_IPSEC_* and NTSTATUS STATUS_IPSEC_*). QUERY is a decimal value\n"
      "(13882), a hex value (0x363A, 0xC000A010), an exact name or a name fragment\n"
      "(QUEUE_DROP, case-insensitive). Without QUERY every code is listed. Prints name,\n"
      "kind, decimal, hex and the documented text. Exits 1 when nothing matches.",
      "  ikestorm codes 0x363A\n  ikestorm codes QUEUE_DROP\n  ikestorm codes --kind ntstatus --json"};
  po::options_description opts("options");
  opts.add_options()
      ("query", po::value<std::string>(), "value, name or name fragment")
      ("json", "print a JSON array of {name, kind, value, hex, description}")
      ("kind", po::value<std::string>(), "only codes of this kind: win32 or ntstatus");
  po::positional_options_description pos;
  pos.add("query", 1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;
  const std::string query = vm.count("query") ? vm["query"].as<std::string>() : "";
  const std::string kind = vm.count("kind") ? vm["kind"].as<std::string>() : "";
  if (!kind.empty() && kind != "win32" && kind != "ntstatus")
    return fail("codes", "--kind must be win32 or ntstatus, not '" + kind + "'", kExitUsage);

  const auto& table = taxonomy::CodeTable::instance();
  std::vector<const taxonomy::Code*> found;
  if (query.empty()) {
    for (const auto& c : table.all()) found.push_back(&c);
  } else {
    found = table.lookup(query);
  }
  std::erase_if(found, [&](const taxonomy::Code* c) { return !kind.empty() && c->kind != kind; });

  if (vm.count("json")) {
    auto arr = nlohmann::json::array();
    for (const auto* c : found)
      arr.push_back({{"name", c->name}, {"kind", c->kind}, {"value", c->value},
                     {"hex", c->hex}, {"description", c->description}});
    std::cout << arr.dump(2) << "\n";
  }
  if (found.empty()) {
    std::string what = query.empty() ? "of kind " + kind : "'" + query + "'";
    return fail("codes", "no such code " + what, kExitExpectationFailed);
  }
  if (vm.count("json")) return kExitOk;

  std::size_t name_w = 4;
  for (const auto* c : found) name_w = std::max(name_w, c->name.size());
  auto pad = [](std::string s, std::size_t w) {
    s.resize(std::max(s.size(), w), ' ');
    return s;
  };
  std::cout << pad("name", name_w) << "  " << pad("kind", 8) << "  " << pad("decimal", 10)
            << "  " << pad("hex", 10) << "  description\n";
  for (const auto* c : found)
    std::cout << pad(c->name, name_w) << "  " << pad(c->kind, 8) << "  "
              << pad(std::to_string(c->value), 10) << "  " << pad(c->hex, 10) << "  "
              << c->description << "\n";
  return kExitOk;
}

CommandRegistrar reg({"codes", "look up Windows IPsec error codes (name, decimal or hex)",
                      &codes_main, 60});

}  // namespace
}  // namespace ist::cli
