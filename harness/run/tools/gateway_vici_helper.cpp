// ist_gateway_vici_helper: run::GatewayVici as a process of its own, for the e2e test that
// checks it against a real gateway charon (tests/e2e/test_gateway_vici.py).
//
//   ist_gateway_vici_helper HOST PORT LOG_FILE SECONDS
//
// Connects (5 s bound), prints "ready" once the `log` subscription is confirmed, writes the
// gateway's log events to LOG_FILE until stdin closes or SECONDS pass, then prints one JSON
// line:
//   {"established": N, "ikesas_total": N, "half_open": N, "log_lines": N, "log_problem": "...",
//    "alive": true}
// Exit codes: 0 done, 2 bad arguments, 3 connect/subscribe/count failed (the error on stderr).
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/event_loop.hpp"
#include "run/gateway_vici.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: ist_gateway_vici_helper HOST PORT LOG_FILE SECONDS\n");
    return 2;
  }
  const int port = std::atoi(argv[2]);
  const double seconds = std::atof(argv[4]);
  if (port <= 0 || port > 65535 || !(seconds >= 0)) {
    std::fprintf(stderr, "ist_gateway_vici_helper: bad PORT or SECONDS\n");
    return 2;
  }
  ist::EventLoop loop;
  auto gw = ist::run::GatewayVici::connect(loop, argv[1], static_cast<uint16_t>(port), argv[3], 5s);
  if (!gw) {
    std::fprintf(stderr, "ist_gateway_vici_helper: %s\n", gw.error().describe().c_str());
    return 3;
  }
  std::cout << "ready" << std::endl;
  bool stdin_closed = false;
  (void)loop.add_fd(0, EPOLLIN | EPOLLRDHUP, [&](uint32_t) {
    char buf[256];
    if (::read(0, buf, sizeof buf) <= 0) stdin_closed = true;
  });
  (void)loop.run_until([&] { return stdin_closed; },
                       loop.clock().now() + std::chrono::milliseconds(static_cast<long long>(seconds * 1000)));

  std::optional<ist::Result<uint64_t>> count;
  std::optional<ist::Result<ist::reports::SutSample>> sample;
  (*gw)->count_established([&](ist::Result<uint64_t> r) { count.emplace(std::move(r)); });
  (*gw)->sample_stats([&](ist::Result<ist::reports::SutSample> r) { sample.emplace(std::move(r)); });
  (void)loop.run_until([&] { return count && sample; }, loop.clock().now() + 30s);
  if (!count || !*count || !sample || !*sample) {
    std::fprintf(stderr, "ist_gateway_vici_helper: %s\n",
                 !count ? "list-sas got no answer"
                 : !*count ? count->error().describe().c_str()
                 : !sample ? "stats got no answer"
                           : sample->error().describe().c_str());
    return 3;
  }
  std::string why;
  nlohmann::json out{{"established", **count},
                     {"ikesas_total", (*sample)->ike_sas},
                     {"half_open", (*sample)->half_open},
                     {"log_lines", (*gw)->log_lines()},
                     {"log_problem", (*gw)->log_problem()},
                     {"alive", (*gw)->alive(&why)}};
  std::cout << out.dump() << std::endl;
  return 0;
}
