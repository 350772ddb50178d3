#include "netns_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "common/child_process.hpp"

namespace ist::netns::testing {

void NetnsTest::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto st = RunState::create(new_run_id());
  if (!st.ok()) FAIL() << st.error().describe();
  state_ = std::make_unique<RunState>(std::move(*st));
}

void NetnsTest::TearDown() {
  if (!state_) return;
  auto live = state_->live_resources();
  ASSERT_TRUE(live.ok());
  for (const auto& r : *live) ADD_FAILURE() << "left behind: " << r.kind << " " << r.name;
  EXPECT_TRUE(state_->remove().ok());
}

std::string ip_output(const std::vector<std::string>& args, const std::string& netns) {
  std::vector<std::string> argv{ip_program()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(argv, std::chrono::seconds(10), netns, 32 << 20);
  if (!r.ok()) {
    ADD_FAILURE() << r.error().describe();
    return {};
  }
  if (!r->status.exited || r->status.code != 0) ADD_FAILURE() << "ip failed: " << r->output;
  return r->output;
}

std::string host_snapshot() {
  std::string out;
  for (auto args : {std::vector<std::string>{"-o", "link"}, std::vector<std::string>{"-o", "addr"},
                    std::vector<std::string>{"rule"}, std::vector<std::string>{"route"},
                    std::vector<std::string>{"-6", "route"}}) {
    out += "$ ip";
    for (auto& a : args) out += " " + a;
    out += "\n" + ip_output(args, "") + "\n";
  }
  return out;
}

unique_fd udp_socket(const Namespace& ns, const IpAddress& addr, std::uint16_t port) {
  auto fd = ns.open_socket(addr.family, SOCK_DGRAM);
  if (!fd) {
    ADD_FAILURE() << fd.error().describe();
    return {};
  }
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(addr, port, ss);
  if (::bind(fd->get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ADD_FAILURE() << "bind " << addr.str() << ": " << std::strerror(errno);
    return {};
  }
  return std::move(fd).value();
}

std::uint16_t local_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

bool send_udp(int fd, const IpAddress& to, std::uint16_t port, const std::string& payload) {
  sockaddr_storage ss;
  socklen_t len = to_sockaddr(to, port, ss);
  return ::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&ss), len) ==
         static_cast<ssize_t>(payload.size());
}

std::optional<Datagram> recv_udp(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
  char buf[65536];
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  ssize_t n = ::recvfrom(fd, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&ss), &len);
  if (n < 0) return std::nullopt;
  Datagram d;
  d.payload.assign(buf, static_cast<std::size_t>(n));
  if (ss.ss_family == AF_INET) {
    auto* s = reinterpret_cast<sockaddr_in*>(&ss);
    d.from.family = AF_INET;
    std::memcpy(d.from.bytes.data(), &s->sin_addr, 4);
    d.port = ntohs(s->sin_port);
  } else {
    auto* s = reinterpret_cast<sockaddr_in6*>(&ss);
    d.from.family = AF_INET6;
    std::memcpy(d.from.bytes.data(), &s->sin6_addr, 16);
    d.port = ntohs(s->sin6_port);
  }
  return d;
}

}  // namespace ist::netns::testing
