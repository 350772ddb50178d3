#pragma once
// Minimal leveled logging to stderr. Thread-safe; one line per call.
#include <sstream>
#include <string>
#include <string_view>

namespace ist::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3, quiet = 4 };

void set_level(Level level);
Level level();
bool enabled(Level level);
void write(Level level, std::string_view line);

template <class... Args>
void emit(Level lvl, const Args&... args) {
  if (!enabled(lvl)) return;
  std::ostringstream os;
  (os << ... << args);
  write(lvl, os.str());
}
template <class... Args> void debug(const Args&... a) { emit(Level::debug, a...); }
template <class... Args> void info(const Args&... a) { emit(Level::info, a...); }
template <class... Args> void warn(const Args&... a) { emit(Level::warn, a...); }
template <class... Args> void error(const Args&... a) { emit(Level::error, a...); }

}  // namespace ist::log
