// Real charon daemons in a two-namespace topology built by the netns library: lifecycle,
// death detection, and IKE/CHILD SAs between a SUT and an initiator, including the NAT-T
// behaviour documented in harness/charon/NAT.md.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <deque>
#include <filesystem>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "charon/conn_spec.hpp"
#include "charon/instance.hpp"
#include "common/event_loop.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "netns/topology.hpp"
#include "two_namespace_fixture.hpp"
#include "vici/session.hpp"

namespace ist::charon {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* const kPsk = "ikestorm-test-psk";

std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class CharonPrivileged : public ist::test::TwoNamespaceFixture {
 protected:
  CharonPrivileged() : TwoNamespaceFixture("charon-test") {}
  std::size_t peer_count() const override { return 2; }

  InstanceOptions options(const std::string& name, Role role, Backend backend) {
    InstanceOptions o = instance_options(name, role, backend);
    if (role == Role::initiator) o.settings.filelog.default_level = 1;  // the test reads it
    return o;
  }
};

// A vici request that must succeed ("success = yes" where the command reports it).
void must(vici::Session& s, std::string_view cmd, const vici::Message& args) {
  auto r = s.call(cmd, args, 5s);
  ASSERT_TRUE(r.ok()) << cmd << ": " << r.error().describe();
  EXPECT_EQ(r->get_or("success", "yes"), "yes") << cmd << ": " << r->get_or("errmsg", "");
}

ConnSpec responder(bool encap) {
  ResponderOptions o;
  o.ike = ike_lifetimes_from_rekey(3600s);
  o.child = child_lifetimes_from_rekey(1200s);
  o.encap = encap;
  return sut_responder_conn(o);
}

ConnSpec initiator(const netns::Topology& t, std::size_t i, bool encap) {
  ConnSpec c;
  c.name = "peer" + std::to_string(i);
  c.local_addrs = {t.peer_ike_address(i).str()};
  c.remote_addrs = {t.sut_ike_address().str()};
  c.local_id = "peer" + std::to_string(i) + ".ikestorm.test";
  c.remote_id = "sut.ikestorm.test";
  c.ike = ike_lifetimes_from_rekey(3600s);
  c.child = child_lifetimes_from_rekey(1200s);
  c.local_ts = {t.peer_inner_address(i).str() + "/32"};
  c.remote_ts = {t.sut_subnet().str()};
  c.encap = encap;
  return c;
}

void load(vici::Session& s, const ConnSpec& c) {
  auto conn = to_load_conn(c);
  ASSERT_TRUE(conn.ok()) << conn.error().describe();
  must(s, "load-conn", *conn);
  auto secret = to_load_shared({"all", kPsk, {}});
  ASSERT_TRUE(secret.ok());
  must(s, "load-shared", *secret);
}

// The SUT's IKE_SAs as list-sas reports them (one message per IKE_SA, keyed by conn name).
std::vector<vici::Message> list_sas(vici::Session& s) {
  auto r = s.call_stream("list-sas", "list-sa", {}, 5s);
  EXPECT_TRUE(r.ok()) << r.error().describe();
  if (!r.ok()) return {};
  std::vector<vici::Message> sas;
  for (auto& item : r->items)
    for (const auto& e : item.elements())
      if (e.kind == vici::Element::Kind::section) sas.push_back(*e.section);
  return sas;
}

struct UpEvents {
  int ike_up = 0;
  int child_up = 0;
};

// Subscribes to the initiator's up/down events, initiates `conn` without blocking charon
// (timeout = -1), and runs the loop until `done` or 10 s.
UpEvents initiate_and_wait(EventLoop& loop, vici::Session& s, const std::string& conn,
                           const std::function<bool(const UpEvents&)>& done) {
  UpEvents ev;
  s.subscribe("ike-updown", [&](std::string_view, const vici::Message& m) {
    if (m.get_or("up", "no") == "yes") ++ev.ike_up;
  });
  s.subscribe("child-updown", [&](std::string_view, const vici::Message& m) {
    if (m.get_or("up", "no") == "yes") ++ev.child_up;
  });
  vici::Message args;
  args.set("ike", conn).set("child", "net").set("timeout", "-1");
  must(s, "initiate", args);
  auto r = loop.run_until([&] { return done(ev); }, loop.clock().now() + 10s);
  EXPECT_TRUE(r.ok());
  return ev;
}

TEST_F(CharonPrivileged, StartsReadyJournaledAndStopsCleanly) {
  auto& sut = start(options("sut", Role::sut, Backend::libipsec));
  EXPECT_NE(sut.daemon_version().find("5.9.8"), std::string::npos) << sut.daemon_version();
  EXPECT_EQ(sut.plugins(), plugin_list(Backend::libipsec, {}));
  EXPECT_TRUE(sut.alive());
  EXPECT_TRUE(journal_has_pid(sut.pid()));
  auto usage = sut.usage();
  ASSERT_TRUE(usage.has_value());
  EXPECT_GT(usage->rss_peak_mb, 1.0);
  // The config it runs from is the rendered one, in the work dir.
  EXPECT_NE(read_file(sut.conf_path()).find("load_modular = no"), std::string::npos);
  EXPECT_TRUE(fs::exists(dir_ + "/sut/run/charon.pid"));
  {
    // The tuned default reached the daemon: its worker pool has 32 threads.
    EventLoop loop;
    auto s = vici::Session::connect(loop, sut.vici_socket());
    ASSERT_TRUE(s.ok());
    auto stats = (*s)->call("stats", {}, 5s);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->get_path("workers.total"), "32");
  }

  const pid_t pid = sut.pid();
  ExitStatus st = sut.stop(5s);
  EXPECT_TRUE(st.exited) << st.describe();
  EXPECT_FALSE(journal_has_pid(pid));
  EXPECT_FALSE(sut.alive());
  EXPECT_FALSE(sut.usage().has_value());
  // The daemon's log shows an orderly shutdown.
  EXPECT_NE(read_file(sut.log_path()).find("SIGTERM received, shutting down"), std::string::npos);
}

TEST_F(CharonPrivileged, EveryPluginListLoads) {
  struct Case {
    Backend backend;
    AuthPlugins auth;
  };
  const Case cases[] = {{Backend::libipsec, AuthPlugins::psk},
                        {Backend::xfrm, AuthPlugins::psk},
                        {Backend::libipsec, AuthPlugins::pubkey},
                        {Backend::xfrm, AuthPlugins::eap_mschapv2}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.backend)));
    auto o = options("plugins-" + std::string(to_string(c.backend)), Role::initiator, c.backend);
    o.settings.extra_plugins = auth_plugins(c.auth);
    auto& inst = start(o);  // start() itself fails if a requested plugin did not load
    EXPECT_EQ(inst.plugins(), plugin_list(c.backend, auth_plugins(c.auth)));
    if (c.auth == AuthPlugins::eap_mschapv2) {
      // MSCHAPv2 needs MD4, which no listed plugin but openssl (legacy provider) offers.
      EventLoop loop;
      auto s = vici::Session::connect(loop, inst.vici_socket());
      ASSERT_TRUE(s.ok());
      auto algs = (*s)->call("get-algorithms", {}, 5s);
      ASSERT_TRUE(algs.ok()) << algs.error().describe();
      EXPECT_EQ(algs->get_path("hasher.HASH_MD4"), "openssl") << algs->to_json().dump();
    }
    inst.stop();
  }
}

TEST_F(CharonPrivileged, UserKeysOverrideTunedDefaults) {
  auto o = options("sut", Role::sut, Backend::libipsec);
  o.settings.user_keys = {{"threads", "12"}};
  auto& sut = start(o);
  EventLoop loop;
  auto s = vici::Session::connect(loop, sut.vici_socket());
  ASSERT_TRUE(s.ok());
  auto stats = (*s)->call("stats", {}, 5s);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->get_path("workers.total"), "12");

  o = options("refused", Role::sut, Backend::libipsec);
  o.settings.user_keys = {{"load_modular", "yes"}};
  auto r = Instance::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("set by the harness"), std::string::npos);
}

TEST_F(CharonPrivileged, DeathMidRunIsObservedNotFatal) {
  auto& sut = start(options("sut", Role::sut, Backend::libipsec));
  const pid_t pid = sut.pid();
  ASSERT_EQ(::kill(pid, SIGKILL), 0);  // our own child
  pollfd p{sut.pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1) << "pidfd did not report the exit";
  EXPECT_FALSE(sut.alive());
  ASSERT_TRUE(sut.exit_status().has_value());
  EXPECT_EQ(sut.exit_status()->signal, SIGKILL);
  EXPECT_FALSE(journal_has_pid(pid));
  EXPECT_EQ(sut.stop().signal, SIGKILL);  // stop after death just reports
}

TEST_F(CharonPrivileged, StartupFailuresAreErrorsWithContext) {
  auto o = options("broken", Role::sut, Backend::libipsec);
  o.charon_path = "/bin/false";
  auto r = Instance::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("exited with 1 during startup"), std::string::npos)
      << r.error().describe();

  o = options("noplugins", Role::sut, Backend::libipsec);
  o.plugin_dir = dir_;
  r = Instance::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("plugins not installed"), std::string::npos);

  o = options("underrun", Role::sut, Backend::libipsec);
  o.work_dir = "/run/ikestorm-test-x";
  EXPECT_FALSE(Instance::start(o).ok());

  o = options("nons", Role::sut, Backend::libipsec);
  o.netns = "ist-000000-missing";
  r = Instance::start(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().describe().find("network namespace"), std::string::npos) << r.error().describe();
  auto live = state_->live_resources();
  ASSERT_TRUE(live.ok());
  for (const auto& res : *live) EXPECT_NE(res.kind, resource_kind::process) << res.name;
}

// Both sides on kernel-libipsec (the only backend with a working data path on a host
// without ESP): the tunnel comes up. kernel-libipsec requires UDP encapsulation, so both
// daemons fake their NAT-D source hash and each sees the other "behind NAT" (NAT.md).
TEST_F(CharonPrivileged, LibipsecTunnelComesUpWithForcedEncapsulation) {
  auto sut_opts = options("sut", Role::sut, Backend::libipsec);
  sut_opts.settings.tuning.spi_min = 0xc1000000;  // written as hex: proves charon parses it
  sut_opts.settings.tuning.spi_max = 0xc10000ff;
  auto& sut = start(sut_opts);
  auto& peer = start(options("peer", Role::initiator, Backend::libipsec));
  EventLoop loop;
  auto sut_s = vici::Session::connect(loop, sut.vici_socket());
  auto peer_s = vici::Session::connect(loop, peer.vici_socket());
  ASSERT_TRUE(sut_s.ok() && peer_s.ok());
  load(**sut_s, responder(false));
  load(**peer_s, initiator(*topo_, 0, false));

  const auto t0 = std::chrono::steady_clock::now();
  auto ev = initiate_and_wait(loop, **peer_s, "peer0",
                              [](const UpEvents& e) { return e.ike_up >= 1 && e.child_up >= 1; });
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ev.ike_up, 1);
  EXPECT_EQ(ev.child_up, 1);
  RecordProperty("setup_ms", std::to_string(static_cast<int>(ms)));

  auto sas = list_sas(**sut_s);
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].get_or("state", ""), "ESTABLISHED");
  EXPECT_EQ(sas[0].get_or("remote-host", ""), topo_->peer_ike_address(0).str());
  EXPECT_EQ(sas[0].get_or("remote-id", ""), "peer0.ikestorm.test");
  EXPECT_EQ(sas[0].get_or("nat-remote", "no"), "yes");  // the initiator's fake, not a NAT
  EXPECT_EQ(sas[0].get_or("remote-port", ""), "4500");
  const auto* children = sas[0].find_section("child-sas");
  ASSERT_NE(children, nullptr);
  ASSERT_EQ(children->size(), 1u);
  const auto& child = *children->elements()[0].section;
  EXPECT_EQ(child.get_or("state", ""), "INSTALLED");
  EXPECT_EQ(child.get_or("encap", "no"), "yes");
  const unsigned long spi_in = std::stoul(child.get_or("spi-in", "0"), nullptr, 16);
  EXPECT_GE(spi_in, 0xc1000000ul);
  EXPECT_LE(spi_in, 0xc10000fful);
  const auto* rts = child.find_list("remote-ts");
  ASSERT_NE(rts, nullptr);
  EXPECT_EQ(*rts, std::vector<std::string>{topo_->peer_inner_address(0).str() + "/32"});
  EXPECT_NE(read_file(sut.log_path()).find("remote host is behind NAT"), std::string::npos);
}

// The generated config itself never asks for NAT-T: with an initiator whose kernel
// interface does not require encapsulation (kernel-netlink, the xfrm backend), the SUT sees
// the peer's true address unless the connection sets encap. The IKE_SA is what is checked;
// on this host the initiator cannot install ESP states, so its CHILD_SA fails either way.
TEST_F(CharonPrivileged, NatTOnlyWhenEncapIsRequested) {
  struct Case {
    bool encap;
    const char* sut_nat_remote;
    bool sut_logs_behind_nat;
    bool sut_logs_fake;  // its own fake, noted only when the peer's hashes were true
  };
  const Case cases[] = {{false, "no", false, true}, {true, "yes", true, false}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.encap ? "encap=yes" : "encap=no");
    const std::string tag = c.encap ? "-encap" : "-plain";
    auto& sut = start(options("sut" + tag, Role::sut, Backend::libipsec));
    auto& peer = start(options("peer" + tag, Role::initiator, Backend::xfrm));
    EventLoop loop;
    auto sut_s = vici::Session::connect(loop, sut.vici_socket());
    auto peer_s = vici::Session::connect(loop, peer.vici_socket());
    ASSERT_TRUE(sut_s.ok() && peer_s.ok());
    load(**sut_s, responder(false));
    load(**peer_s, initiator(*topo_, 1, c.encap));
    auto ev = initiate_and_wait(loop, **peer_s, "peer1",
                                [](const UpEvents& e) { return e.ike_up >= 1; });
    EXPECT_EQ(ev.ike_up, 1);
    auto sas = list_sas(**sut_s);
    ASSERT_EQ(sas.size(), 1u);
    EXPECT_EQ(sas[0].get_or("state", ""), "ESTABLISHED");
    EXPECT_EQ(sas[0].get_or("nat-remote", "no"), c.sut_nat_remote);
    const std::string log = read_file(sut.log_path());
    EXPECT_EQ(log.find("remote host is behind NAT") != std::string::npos, c.sut_logs_behind_nat);
    // The SUT's own kernel-libipsec still forces encapsulation by faking its own hash; charon
    // says so when nothing else (a real or faked NAT on the peer's side) explains it.
    EXPECT_EQ(log.find("faking NAT situation to enforce UDP encapsulation") != std::string::npos,
              c.sut_logs_fake);
    sut_s->reset();
    peer_s->reset();
    peer.stop();
    sut.stop();
  }
}

// Several kernel-libipsec initiator daemons in one namespace (as the fleet runs them): each
// binds its own IKE and NAT-T ports and gets its own TUN device; all their tunnels come up.
TEST_F(CharonPrivileged, InitiatorDaemonsShareANamespaceOnOwnPorts) {
  auto& sut = start(options("sut", Role::sut, Backend::libipsec));
  EventLoop loop;
  auto sut_s = vici::Session::connect(loop, sut.vici_socket());
  ASSERT_TRUE(sut_s.ok());
  load(**sut_s, responder(false));
  std::vector<std::unique_ptr<vici::Session>> sessions;
  UpEvents ev;
  for (std::size_t d = 0; d < 2; ++d) {
    auto o = options("peers-" + std::to_string(d), Role::initiator, Backend::libipsec);
    o.settings.user_keys = {{"port", std::to_string(10500 + 2 * d)},
                            {"port_nat_t", std::to_string(10501 + 2 * d)}};
    auto& inst = start(o);
    auto s = vici::Session::connect(loop, inst.vici_socket());
    ASSERT_TRUE(s.ok());
    load(**s, initiator(*topo_, d, false));
    (*s)->subscribe("child-updown", [&](std::string_view, const vici::Message& m) {
      if (m.get_or("up", "no") == "yes") ++ev.child_up;
    });
    vici::Message args;
    args.set("ike", "peer" + std::to_string(d)).set("child", "net").set("timeout", "-1");
    must(**s, "initiate", args);
    sessions.push_back(std::move(*s));
  }
  auto r = loop.run_until([&] { return ev.child_up >= 2; }, loop.clock().now() + 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ev.child_up, 2);
  auto sas = list_sas(**sut_s);
  ASSERT_EQ(sas.size(), 2u);
  std::set<std::string> ports;
  for (const auto& sa : sas) ports.insert(sa.get_or("remote-port", ""));
  EXPECT_EQ(ports, (std::set<std::string>{"10501", "10503"}));  // NAT-T ports, floated
}

class CharonPrivilegedFleet : public CharonPrivileged {
 protected:
  // IST_CHARON_FLEET_PEERS raises it for a manual scale check.
  std::size_t peer_count() const override {
    const char* env = ::getenv("IST_CHARON_FLEET_PEERS");
    return env ? std::stoul(env) : 100;
  }
};

// One responder connection (remote id %any) and one shared secret serve many peers, each
// with its own address and identity, all initiated at once without blocking charon.
TEST_F(CharonPrivilegedFleet, OneResponderConnServesEveryPeer) {
  const std::size_t n = peer_count();
  auto& sut = start(options("sut", Role::sut, Backend::libipsec));
  auto& peers = start(options("peers", Role::initiator, Backend::libipsec));
  EventLoop loop;
  auto sut_s = vici::Session::connect(loop, sut.vici_socket());
  auto peer_s = vici::Session::connect(loop, peers.vici_socket());
  ASSERT_TRUE(sut_s.ok() && peer_s.ok());
  load(**sut_s, responder(false));
  for (std::size_t i = 0; i < n; ++i) {
    auto conn = to_load_conn(initiator(*topo_, i, false));
    ASSERT_TRUE(conn.ok());
    must(**peer_s, "load-conn", *conn);
  }
  auto secret = to_load_shared({"all", kPsk, {}});
  ASSERT_TRUE(secret.ok());
  must(**peer_s, "load-shared", *secret);

  UpEvents ev;
  (*peer_s)->subscribe("child-updown", [&](std::string_view, const vici::Message& m) {
    if (m.get_or("up", "no") == "yes") ++ev.child_up;
  });
  const auto t0 = std::chrono::steady_clock::now();
  int answered = 0;
  for (std::size_t i = 0; i < n; ++i) {
    vici::Message args;
    args.set("ike", "peer" + std::to_string(i)).set("child", "net").set("timeout", "-1");
    (*peer_s)->request("initiate", args, [&](Result<vici::Message> r) {
      EXPECT_TRUE(r.ok() && r->get_or("success", "no") == "yes");
      ++answered;
    });
  }
  auto r = loop.run_until([&] { return ev.child_up >= static_cast<int>(n); },
                          loop.clock().now() + 20s + std::chrono::milliseconds(20 * n));
  ASSERT_TRUE(r.ok());
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(answered, static_cast<int>(n));
  EXPECT_EQ(ev.child_up, static_cast<int>(n));
  RecordProperty("setups_per_s", std::to_string(static_cast<int>(n / s)));
  std::printf("%zu IKE+CHILD SAs up in %.2f s (%.0f/s)\n", n, s, n / s);

  auto sas = list_sas(**sut_s);
  ASSERT_EQ(sas.size(), n);
  std::set<std::string> ids;
  for (const auto& sa : sas) {
    EXPECT_EQ(sa.get_or("state", ""), "ESTABLISHED");
    ids.insert(sa.get_or("remote-id", ""));
  }
  EXPECT_EQ(ids.size(), n);
  EXPECT_TRUE(ids.count("peer0.ikestorm.test") &&
              ids.count("peer" + std::to_string(n - 1) + ".ikestorm.test"));
}

}  // namespace
}  // namespace ist::charon
