// ikestorm vici [--socket PATH|tcp://HOST:PORT] [COMMAND [key=value ...]] [--json] [--listen EVENT ...]
//               [--timeout S] [--input FILE]
// Sends one raw vici command to a charon and prints the answer; streams events. The request,
// the call and the output are harness/vici/raw_command.hpp.
#include <fstream>
#include <iostream>
#include <span>
#include <sstream>

#include "cli/command.hpp"
#include "common/event_loop.hpp"
#include "common/signals.hpp"
#include "vici/raw_command.hpp"
#include "vici/session.hpp"

namespace ist::cli {
namespace {

constexpr const char* kDefaultSocket = "/var/run/charon.vici";

// --input FILE ('-' = stdin) as a request message.
Result<vici::Message> read_json_input(const std::string& path) {
  std::stringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
  } else {
    std::ifstream f(path);
    if (!f) return Error::sys("cannot read " + path);
    ss << f.rdbuf();
  }
  return vici::message_from_json_text(ss.str(), path);
}

// Connects, subscribes to `listen`, sends `command` (if any) and prints the answer, then
// streams the events until Ctrl-C, `timeout_s` or the daemon closing the connection.
int send_and_listen(const std::string& socket, bool json, const std::string& command,
                    const vici::Message& request, const std::vector<std::string>& listen,
                    std::optional<double> timeout_s) {
  EventLoop loop;
  if (!loop.valid()) return fail("vici", "cannot create an epoll loop", kExitHarnessFault);
  signals::install_stop_handlers();
  (void)loop.add_fd(signals::stop_fd(), EPOLLIN, [&loop](uint32_t) { loop.stop(); });

  vici::SessionOptions sopts;
  const auto answer_timeout = std::chrono::milliseconds(
      static_cast<long long>((timeout_s && listen.empty() ? *timeout_s : 30.0) * 1000));
  sopts.default_timeout = answer_timeout;
  auto connected = vici::Session::connect(loop, socket, sopts);
  if (!connected) {
    // A malformed tcp:// address is the caller's mistake (2); no daemon is 3.
    const bool bad_address = vici::is_tcp_uri(socket) && connected.error().errno_value == EINVAL;
    return fail("vici", connected.error().describe(), bad_address ? kExitUsage : kExitHarnessFault);
  }
  auto& session = **connected;

  int rc = kExitOk;
  std::optional<Error> closed;
  session.on_close([&](const Error& e) { closed = e; });

  // Subscriptions first, so events raised by the command are seen too.
  for (const auto& ev : listen) {
    session.subscribe(
        ev, [json](std::string_view name, const vici::Message& m) {
          std::cout << vici::format_event(name, m, json) << std::flush;
        },
        [&rc, ev](Status st) {
          if (!st) {
            std::cerr << "ikestorm vici: --listen " << ev << ": " << st.error().describe() << "\n";
            rc = kExitExpectationFailed;
          }
        });
  }

  if (!command.empty()) {
    auto answer = vici::call_raw(session, command, request);
    if (!answer) {
      const auto& e = answer.error();
      const bool daemon_said_no = e.errno_value == EOPNOTSUPP || e.errno_value == ENOENT;
      return fail("vici", e.describe(), daemon_said_no ? kExitExpectationFailed : kExitHarnessFault);
    }
    std::cout << vici::format_answer(*answer, json) << std::flush;
    if (answer->said_no()) rc = kExitExpectationFailed;
  }

  if (!listen.empty()) {
    const auto deadline = timeout_s ? loop.clock().now() + std::chrono::milliseconds(
                                                              static_cast<long long>(*timeout_s * 1000))
                                    : MonoTime::max();
    auto ran = loop.run_until(
        [&] { return signals::stop_requested() || closed.has_value(); }, deadline);
    if (!ran) return fail("vici", ran.error().describe(), kExitHarnessFault);
    if (closed && !signals::stop_requested())
      return fail("vici", "the daemon closed the connection: " + closed->describe(),
                  kExitHarnessFault);
  }
  return rc;
}

int vici_main(const std::vector<std::string>& args) {
  Usage usage{
      "ikestorm vici [--socket PATH] [COMMAND [key=value ...]] [--json] [--listen EVENT ...] "
      "[--timeout S]",
      "Sends one vici command to a running charon and prints the answer (like\n"
      "`swanctl --raw`), or streams events. A debugging tool: it sends exactly what you\n"
      "give it.\n"
      "\n"
      "--socket takes a unix socket path or a gateway's vici over TCP as\n"
      "tcp://IPv4:PORT or tcp://[IPv6]:PORT (address literals, never resolved; the connect\n"
      "gives up after 5 s and says whether it was refused, unreachable or unanswered).\n"
      "\n"
      "Arguments build the request message:\n"
      "  key=value        a value                    (ike=conn-1 timeout=-1)\n"
      "  a.b.key=value    inside sections a, b        (conn-1.children.net.mode=tunnel)\n"
      "  key[]=item       one item of list `key`; repeat for more (owners[]=gw owners[]=peer)\n"
      "A comma is not a list separator: `key=a,b` sends the value \"a,b\". Use --input for\n"
      "whole messages as JSON (objects = sections, arrays = lists, strings = values).\n"
      "\n"
      "list-sas, list-conns, list-certs, list-policies and list-authorities collect their\n"
      "streamed events and print each one before the response. Note: `initiate` and\n"
      "`terminate` without timeout=-1 make charon hold a worker until the exchange ends.\n"
      "\n"
      "Output: YAML-like text, or --json (a streamed command prints {\"items\": [...],\n"
      "\"response\": {...}}; events print one JSON object per line: {\"event\", \"data\"}).\n"
      "Exit codes: 0 answered (success not \"no\"), 1 the daemon said success=no or does not\n"
      "know the command or event, 2 bad arguments (a malformed tcp:// address too), 3 no\n"
      "daemon / no answer in time.",
      "  ikestorm vici version\n"
      "  ikestorm vici --socket /tmp/x/charon.vici stats --json\n"
      "  ikestorm vici --socket tcp://198.18.100.1:4502 list-sas\n"
      "  ikestorm vici list-sas noblock=yes\n"
      "  ikestorm vici initiate ike=peer-1 child=net timeout=-1\n"
      "  ikestorm vici load-shared type=IKE data=secret owners[]=198.19.0.1\n"
      "  ikestorm vici --listen ike-updown --listen child-updown --timeout 60"};
  po::options_description opts("options");
  opts.add_options()
      ("socket", po::value<std::string>()->default_value(kDefaultSocket), "charon's vici: a unix socket path or tcp://HOST:PORT")
      ("json", "print JSON instead of text")
      ("listen", po::value<std::vector<std::string>>()->composing(),
       "stream this event (repeatable) until Ctrl-C or --timeout")
      ("timeout", po::value<double>(),
       "seconds to wait for the answer (default 30); with --listen, how long to listen")
      ("input", po::value<std::string>(), "JSON file ('-' = stdin) with the request message")
      ("words", po::value<std::vector<std::string>>(),
       "(positional) COMMAND, then key=value arguments");
  po::positional_options_description pos;
  pos.add("words", -1);
  po::variables_map vm;
  if (auto rc = parse_args(args, usage, opts, pos, vm)) return *rc;

  const std::string socket = vm["socket"].as<std::string>();
  const bool json = vm.count("json") > 0;
  const auto words = vm.count("words") ? vm["words"].as<std::vector<std::string>>()
                                       : std::vector<std::string>{};
  const auto listen = vm.count("listen") ? vm["listen"].as<std::vector<std::string>>()
                                         : std::vector<std::string>{};
  std::optional<double> timeout_s;
  if (vm.count("timeout")) {
    timeout_s = vm["timeout"].as<double>();
    if (!(*timeout_s > 0)) return fail("vici", "--timeout must be more than 0 seconds", kExitUsage);
  }
  if (words.empty() && listen.empty())
    return fail("vici", "give a COMMAND or --listen EVENT (see --help)", kExitUsage);
  const std::string command = words.empty() ? "" : words[0];
  if (!command.empty() && command.find('=') != std::string::npos)
    return fail("vici", "the first argument is the command, not '" + command + "'", kExitUsage);

  vici::Message request;
  if (vm.count("input")) {
    auto in = read_json_input(vm["input"].as<std::string>());
    if (!in) return fail("vici", in.error().describe(), kExitUsage);
    request = std::move(in).value();
  }
  if (words.size() > 1)
    if (auto st = vici::apply_assignments(request, std::span(words).subspan(1)); !st)
      return fail("vici", st.error().describe(), kExitUsage);

  return send_and_listen(socket, json, command, request, listen, timeout_s);
}

const CommandRegistrar registrar{Command{
    "vici", "send a raw vici command to a charon, or stream its events", vici_main, 80}};

}  // namespace
}  // namespace ist::cli
