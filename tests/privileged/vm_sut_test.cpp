// VmSut end to end below the orchestrator: the topology's SUT end handed to a guest, charon
// with kernel-netlink answering vici over TCP from the SUT namespace, the responder config
// loaded, an empty kernel SAD, and on stop the guest's log in the work dir and no guest left.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "charon/conn_spec.hpp"
#include "common/event_loop.hpp"
#include "common/run_state.hpp"
#include "netns/topology.hpp"
#include "run/vm_sut.hpp"

namespace ist::run {
namespace {

namespace fs = std::filesystem;

std::string read_all(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string ip_in(const std::string& ns, const std::string& args) {
  std::string cmd = "ip -n " + ns + " " + args + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    while (size_t n = ::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

TEST(VmSut, KernelNetlinkCharonInAGuestAnswersViciFromTheSutNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  auto state = RunState::create(new_run_id());
  ASSERT_TRUE(state.ok()) << state.error().describe();
  netns::TopologySpec spec;
  spec.peer_count = 4;
  auto topo = netns::Topology::build(*state, spec);
  ASSERT_TRUE(topo.ok()) << topo.error().describe();
  const std::string work = state->dir() + "/sut";

  charon::ResponderOptions ro;
  ro.local_ts = {topo->sut_subnet().str()};
  ro.ike_proposals = {"aes128-sha256-x25519"};
  ro.esp_proposals = {"aes128gcm16"};
  auto conn = charon::to_load_conn(charon::sut_responder_conn(ro));
  ASSERT_TRUE(conn.ok());
  auto shared = charon::to_load_shared(charon::SharedSecret{"peers", "not-a-secret-0123456789", {}});
  ASSERT_TRUE(shared.ok());

  VmSutOptions o;
  o.topology = &*topo;
  o.run_state = &*state;
  o.work_dir = work;
  o.settings = charon::default_settings(charon::Role::sut, charon::Backend::libipsec);
  o.settings.user_keys["ikesa_limit"] = "77";
  o.esp_proposals = ro.esp_proposals;
  EventLoop loop;
  {
    auto sut = VmSut::start(loop, o, {{"load-shared", *shared}, {"load-conn", *conn}});
    ASSERT_TRUE(sut.ok()) << sut.error().describe();
    VmSut& v = **sut;
    EXPECT_FALSE(v.guest_kernel().empty());
    EXPECT_NE(v.daemon_version().find(v.guest_kernel()), std::string::npos) << v.daemon_version();
    std::string why;
    EXPECT_TRUE(v.healthy(&why)) << why;

    // The SUT namespace: no SUT address of its own, the veth on the bridge with the tap.
    const std::string ns = topo->sut_ns().name();
    const std::string addrs = ip_in(ns, "-o addr");
    EXPECT_EQ(addrs.find("198.18.0.1/"), std::string::npos) << addrs;
    EXPECT_EQ(addrs.find("198.18.255.1/"), std::string::npos) << addrs;
    EXPECT_NE(addrs.find(std::string(kBridgeManagementAddress) + "/30"), std::string::npos) << addrs;
    const std::string bridged = ip_in(ns, "-o link show master " + link_name(state->run_id(), "vbr"));
    EXPECT_NE(bridged.find(topo->sut_link()), std::string::npos) << bridged;
    EXPECT_NE(bridged.find(link_name(state->run_id(), "vm")), std::string::npos) << bridged;

    // The responder config arrived through vici; nothing established, the kernel SAD empty.
    auto conns = v.session()->call_stream("list-conns", "list-conn", {}, std::chrono::seconds(10));
    ASSERT_TRUE(conns.ok()) << conns.error().describe();
    ASSERT_EQ(conns->items.size(), 1u);
    std::optional<Result<uint64_t>> counted;
    v.count_established([&](Result<uint64_t> n) { counted = std::move(n); });
    for (int i = 0; i < 200 && !counted; ++i) (void)loop.run_once(std::chrono::milliseconds(50));
    ASSERT_TRUE(counted.has_value());
    ASSERT_TRUE(counted->ok()) << counted->error().describe();
    EXPECT_EQ(**counted, 0u);
    EXPECT_EQ(v.esp_states_at_count(), std::optional<uint64_t>(0));
    std::optional<Result<reports::SutSample>> sample;
    v.sample_stats([&](Result<reports::SutSample> s) { sample = std::move(s); });
    for (int i = 0; i < 200 && !sample; ++i) (void)loop.run_once(std::chrono::milliseconds(50));
    ASSERT_TRUE(sample.has_value() && sample->ok());
    EXPECT_EQ((*sample)->ike_sas, 0u);

    EXPECT_GT(v.usage().cpu_s, 0.5);  // qemu's
    ASSERT_TRUE(v.stop().ok());
  }
  // The guest charon's config and log are in the work dir; its log was written in the guest.
  const std::string conf = read_all(work + "/strongswan.conf");
  EXPECT_NE(conf.find("ikesa_limit = 77"), std::string::npos) << conf;
  const std::string log = read_all(work + "/charon.log");
  EXPECT_NE(log.find("loaded plugins: charon"), std::string::npos) << log;
  EXPECT_NE(log.find("kernel-netlink"), std::string::npos) << log;
  EXPECT_EQ(log.find("kernel-libipsec"), std::string::npos) << log;
  EXPECT_NE(read_all(work + "/xfrm_stat").find("XfrmInNoStates"), std::string::npos);

  ASSERT_TRUE(topo->teardown().ok());
  auto live = state->live_resources();
  ASSERT_TRUE(live.ok());
  for (const auto& r : *live) ADD_FAILURE() << "left behind: " << r.kind << " " << r.name << " " << r.detail;
  EXPECT_TRUE(state->remove().ok());
}

}  // namespace
}  // namespace ist::run
