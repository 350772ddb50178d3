#pragma once
// Shared pieces of the privileged netns tests: a run state per test, the host snapshot, and
// small UDP helpers for sockets that live inside a test namespace.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/run_state.hpp"
#include "common/unique_fd.hpp"
#include "netns/ip_address.hpp"
#include "netns/namespace.hpp"

namespace ist::netns::testing {

// A fresh journaled run per test; at the end nothing of it may be left.
class NetnsTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  RunState& state() { return *state_; }

 private:
  std::unique_ptr<RunState> state_;
};

// Output of `ip ARGS` (in `netns` when set); a failure fails the test.
std::string ip_output(const std::vector<std::string>& args, const std::string& netns = "");
// `ip -o link`, `ip -o addr`, `ip rule`, `ip route`, `ip -6 route` of the host namespace.
std::string host_snapshot();

// A UDP socket made in `ns`, bound to addr:port (port 0: any).
unique_fd udp_socket(const Namespace& ns, const IpAddress& addr, std::uint16_t port);
std::uint16_t local_port(int fd);
bool send_udp(int fd, const IpAddress& to, std::uint16_t port, const std::string& payload);
struct Datagram {
  IpAddress from;
  std::uint16_t port = 0;
  std::string payload;
};
std::optional<Datagram> recv_udp(int fd, std::chrono::milliseconds timeout);

}  // namespace ist::netns::testing
