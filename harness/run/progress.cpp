#include "run/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace ist::run {

Progress::Progress(std::FILE* out, std::chrono::seconds plain_every)
    : out_(out), tty_(::isatty(::fileno(out)) == 1), plain_every_(plain_every) {}

std::string Progress::format(const ProgressSnapshot& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf,
                "[%6.1fs] %-8s up %llu/%llu  failed %llu  in flight %llu  %.0f/s  rekeys %llu", s.t_s,
                s.phase.c_str(), static_cast<unsigned long long>(s.established),
                static_cast<unsigned long long>(s.peers), static_cast<unsigned long long>(s.failed),
                static_cast<unsigned long long>(s.in_flight), s.rate_per_s,
                static_cast<unsigned long long>(s.rekeys));
  return buf;
}

void Progress::update(const ProgressSnapshot& s) {
  std::string line = format(s);
  if (tty_) {
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    std::fflush(out_);
    drawn_ = true;
    return;
  }
  auto now = SteadyClock::instance().now();
  if (last_plain_ != MonoTime{} && now - last_plain_ < plain_every_) return;
  last_plain_ = now;
  std::fprintf(out_, "%s\n", line.c_str());
  std::fflush(out_);
}

void Progress::finish() {
  if (tty_ && drawn_) {
    std::fprintf(out_, "\n");
    std::fflush(out_);
  }
  drawn_ = false;
}

}  // namespace ist::run
