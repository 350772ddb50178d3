#include "common/signals.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdint>

namespace ist::signals {
namespace {
std::atomic<int> g_signal{0};
std::atomic<bool> g_stop{false};
int g_efd = -1;

void on_signal(int signo) {
  if (g_stop.exchange(true)) {
    // Third Ctrl-C while teardown runs: the user insists. Teardown of kernel state is
    // still recoverable with `ikestorm clean`.
    static std::atomic<int> presses{1};
    if (++presses >= 3) {
      ::signal(signo, SIG_DFL);
      ::raise(signo);
    }
    return;
  }
  g_signal = signo;
  if (g_efd >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(g_efd, &one, sizeof one);
  }
}
}  // namespace

void install_stop_handlers() {
  if (g_efd < 0) g_efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop.load(); }
int stop_signal() { return g_signal.load(); }
int stop_fd() { return g_efd; }

void request_stop(int signo) {
  if (g_efd < 0) g_efd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  on_signal(signo);
}

void reset_for_tests() {
  g_stop = false;
  g_signal = 0;
  if (g_efd >= 0) {
    uint64_t v;
    [[maybe_unused]] auto n = ::read(g_efd, &v, sizeof v);
  }
}

}  // namespace ist::signals
