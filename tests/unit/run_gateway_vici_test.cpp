// gateway_log_line: a gateway's vici `log` event as a line of the harness's SUT filelog, read
// back by the same parser the SUT-log classifier uses.
#include <gtest/gtest.h>

#include "charon/log_parser.hpp"
#include "run/gateway_vici.hpp"

namespace ist::run {
namespace {

vici::Message log_event(std::initializer_list<std::pair<const char*, const char*>> kv) {
  vici::Message m;
  for (auto [k, v] : kv) m.set(k, v);
  return m;
}

const auto kAt = std::chrono::system_clock::from_time_t(1'800'000'000) + std::chrono::milliseconds(42);

TEST(GatewayLogLine, AnIkeSaLineKeepsItsConnectionAndUniqueId) {
  auto m = log_event({{"group", "IKE"}, {"level", "1"}, {"thread", "9"}, {"ikesa-name", "rw"},
                      {"ikesa-uniqueid", "3"},
                      {"msg", "IKE_SA rw[3] established between 198.18.100.1[gw.example.org]...198.18.100.50[peer-0@example.org]"}});
  const std::string line = gateway_log_line(m, kAt);
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_NE(line.find(".042 09[IKE] <rw|3> IKE_SA rw[3] established"), std::string::npos) << line;
  auto e = charon::parse_log_line(line);
  EXPECT_EQ(e.subsystem, charon::LogSubsystem::IKE);
  EXPECT_EQ(e.thread, 9);
  EXPECT_EQ(e.conn, "rw");
  EXPECT_EQ(e.unique_id, 3u);
  EXPECT_GE(e.t_ms, 0);
  EXPECT_EQ(e.kind, charon::LogEventKind::ike_established) << to_string(e.kind);
}

TEST(GatewayLogLine, TheIkeSaLimitIsReadAsTheResponderDroppingIt) {
  auto m = log_event({{"group", "MGR"}, {"level", "1"}, {"thread", "12"},
                      {"msg", "ignoring IKE_SA_INIT, hitting IKE_SA limit (30)"}});
  auto e = charon::parse_log_line(gateway_log_line(m, kAt));
  EXPECT_EQ(e.subsystem, charon::LogSubsystem::MGR);
  EXPECT_EQ(e.unique_id, 0u);
  EXPECT_EQ(e.kind, charon::LogEventKind::ike_sa_limit_hit) << to_string(e.kind);
  EXPECT_EQ(e.number, 30);
}

TEST(GatewayLogLine, AnUnnamedSaAndAMultiLineMessage) {
  auto m = log_event({{"group", "ENC"}, {"thread", "5"}, {"ikesa-name", "(unnamed)"},
                      {"ikesa-uniqueid", "7"}, {"msg", "first\nsecond"}});
  const std::string text = gateway_log_line(m, kAt);
  std::vector<std::string> raw;
  charon::for_each_log_line(text, [&](const charon::LogEvent& e) { raw.emplace_back(e.message); });
  ASSERT_EQ(raw.size(), 2u) << text;
  EXPECT_EQ(raw[0], "first");
  EXPECT_EQ(raw[1], "second");
  auto e = charon::parse_log_line(text.substr(0, text.find('\n')));
  EXPECT_EQ(e.unique_id, 7u);
  EXPECT_EQ(e.conn, "");
}

// report.real_xfrm for a target: only the gateway's own plugin list can make it true.
TEST(GatewayXfrmEvidence, KernelNetlinkWithoutLibipsecIsKernelXfrm) {
  auto e = gateway_xfrm_evidence({"random", "nonce", "openssl", "kernel-netlink", "socket-default", "vici"});
  EXPECT_TRUE(e.kernel_xfrm);
  EXPECT_NE(e.basis.find("kernel-netlink and not kernel-libipsec"), std::string::npos) << e.basis;
}

TEST(GatewayXfrmEvidence, KernelLibipsecLoadedIsNotEvidenceEvenBesideKernelNetlink) {
  auto e = gateway_xfrm_evidence({"random", "nonce", "openssl", "kernel-libipsec", "kernel-netlink", "vici"});
  EXPECT_FALSE(e.kernel_xfrm);
  EXPECT_NE(e.basis.find("kernel-libipsec"), std::string::npos) << e.basis;
}

TEST(GatewayXfrmEvidence, NoKernelNetlinkIsNotKernelXfrm) {
  auto e = gateway_xfrm_evidence({"random", "nonce", "openssl", "kernel-pfkey", "vici"});
  EXPECT_FALSE(e.kernel_xfrm);
  EXPECT_NE(e.basis.find("did not load kernel-netlink"), std::string::npos) << e.basis;
}

TEST(GatewayXfrmEvidence, NoPluginListIsUnknownNotTrue) {
  auto e = gateway_xfrm_evidence({});
  EXPECT_FALSE(e.kernel_xfrm);
  EXPECT_NE(e.basis.find("unknown"), std::string::npos) << e.basis;
}

}  // namespace
}  // namespace ist::run
