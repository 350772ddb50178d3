// ikestorm udp-echo --bind ADDR:PORT --counts FILE [--interval D]
// Internal: the data plane's echo sink (fleet::DataSink) as a process of its own. The vm
// backend runs it inside its guest, where the SUT's protected-subnet address lives; the host
// reads FILE (fleet::sink_tally_json) back through the guest agent. FILE is written at start
// (so its presence says the socket is bound), every --interval while counts change, and at
// SIGTERM/SIGINT; each write replaces it whole (rename), so a reader never sees half of one.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdio>
#include <functional>

#include "cli/command.hpp"
#include "common/event_loop.hpp"
#include "common/file_write.hpp"
#include "common/signals.hpp"
#include "common/unique_fd.hpp"
#include "dataplane/data_plane_sink.hpp"
#include "scenario/units.hpp"

namespace ist::cli {
namespace {

constexpr std::string_view kCmd = "udp-echo";

int udp_echo_main(const std::vector<std::string>& args) {
  Usage usage{"ikestorm udp-echo --bind ADDR:PORT --counts FILE [--interval D]",
              "Internal (the vm backend starts it in its guest). Echoes the data plane's probes\n"
              "arriving at the IPv4 ADDR:PORT back to their source, counts them per tunnel, and\n"
              "writes the counts as JSON to FILE at start, every --interval while they change, and\n"
              "when stopped by SIGTERM or SIGINT. Exit codes: 0 stopped, 2 bad arguments, 3 the\n"
              "socket could not be bound.",
              "  ikestorm udp-echo --bind 198.18.255.1:5001 --counts /run/ikestorm/sink.json"};
  po::options_description opts("options");
  opts.add_options()
      ("bind", po::value<std::string>()->required(), "IPv4 address and UDP port, ADDR:PORT")
      ("counts", po::value<std::string>()->required(), "where the JSON counts are written")
      ("interval", po::value<std::string>()->default_value("100ms"), "time between writes while counts change");
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, {}, vm)) return *rc;

  const std::string bind = vm["bind"].as<std::string>();
  const auto colon = bind.rfind(':');
  std::array<uint8_t, 4> address{};
  unsigned long port = 0;
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    port = std::stoul(bind.substr(colon + 1));
  } catch (const std::exception&) {
    return fail(kCmd, "--bind '" + bind + "': expected ADDR:PORT", kExitUsage);
  }
  if (port == 0 || port > 65535 || ::inet_pton(AF_INET, bind.substr(0, colon).c_str(), address.data()) != 1)
    return fail(kCmd, "--bind '" + bind + "': expected an IPv4 ADDR:PORT", kExitUsage);
  auto parsed = scenario::parse_duration(vm["interval"].as<std::string>());
  if (auto* why = std::get_if<std::string>(&parsed)) return fail(kCmd, "--interval: " + *why, kExitUsage);
  const auto every = std::get<std::chrono::milliseconds>(parsed);
  if (every.count() <= 0) return fail(kCmd, "--interval must be more than 0", kExitUsage);
  const std::string counts_path = vm["counts"].as<std::string>();

  EventLoop loop;
  if (!loop.valid()) return fail(kCmd, "cannot create an epoll loop", kExitHarnessFault);
  unique_fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return fail(kCmd, Error::sys("socket").describe(), kExitHarnessFault);
  if (auto st = fleet::bind_udp4(fd.get(), address, static_cast<uint16_t>(port)); !st)
    return fail(kCmd, st.error().describe(), kExitHarnessFault);
  // The guest does not know the tunnels' inner addresses: sources are not checked here.
  auto sink = fleet::DataSink::open(loop, std::move(fd), nullptr);
  if (!sink) return fail(kCmd, sink.error().describe(), kExitHarnessFault);

  std::string written;
  auto write_counts = [&]() -> Status {
    std::string now = fleet::sink_tally_json((*sink)->tally());
    if (now == written) return ok();
    IST_TRY(write_file_atomic(counts_path, now));
    written = std::move(now);
    return ok();
  };
  if (auto st = write_counts(); !st) return fail(kCmd, st.error().describe(), kExitHarnessFault);

  signals::install_stop_handlers();
  (void)loop.add_fd(signals::stop_fd(), EPOLLIN, [&loop](uint32_t) { loop.stop(); });
  std::function<void()> tick = [&] {
    if (auto st = write_counts(); !st) std::fprintf(stderr, "ikestorm udp-echo: %s\n", st.error().describe().c_str());
    loop.after(every, tick);
  };
  loop.after(every, tick);
  auto r = loop.run_until([] { return signals::stop_requested(); }, MonoTime::max());
  (*sink)->close();
  if (!r) return fail(kCmd, r.error().describe(), kExitHarnessFault);
  if (auto st = write_counts(); !st) return fail(kCmd, st.error().describe(), kExitHarnessFault);
  return kExitOk;
}

const CommandRegistrar kRegistrar{
    {kCmd, "internal: the data plane's echo sink as a process (the vm backend's guest runs it)", udp_echo_main, 95}};

}  // namespace
}  // namespace ist::cli
