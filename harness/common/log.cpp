#include "common/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace ist::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mu;
}  // namespace

void set_level(Level lvl) { g_level = lvl; }
Level level() { return g_level; }
bool enabled(Level lvl) { return lvl >= g_level.load() && lvl != Level::quiet; }

void write(Level lvl, std::string_view line) {
  static const char* names[] = {"debug", "info", "warn", "error"};
  std::string out;
  out.reserve(line.size() + 24);
  out += "ikestorm: ";
  if (lvl != Level::info) {
    out += names[static_cast<int>(lvl)];
    out += ": ";
  }
  out += line;
  out += '\n';
  std::lock_guard lock(g_mu);
  ::fwrite(out.data(), 1, out.size(), stderr);
}

}  // namespace ist::log
