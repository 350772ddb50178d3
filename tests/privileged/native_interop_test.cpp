// Interop proof for the native IKEv2 initiator: a real strongSwan 5.9.8 charon as the SUT
// (kernel-libipsec backend, so it fakes NAT and the exchange floats to UDP 4500, see
// harness/charon/NAT.md) in a private namespace pair, and one native peer speaking over
// plain UDP sockets in the peers' namespace. Each case establishes IKE + CHILD, checks the
// SUT's view with vici list-sas (SPIs, identities, selectors, algorithms), deletes the IKE_SA
// from the native side and checks the SUT has nothing left.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <thread>

#include "charon/conn_spec.hpp"
#include "charon/instance.hpp"
#include "common/event_loop.hpp"
#include "common/named_netns.hpp"
#include "common/run_state.hpp"
#include "common/unique_fd.hpp"
#include "fleet/native/initiator.hpp"
#include "netns/topology.hpp"
#include "vici/session.hpp"

namespace ist::native {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
const char* const kPsk = "ikestorm-native-interop-psk";

Bytes address_bytes(const netns::IpAddress& a) { return Bytes(a.bytes.begin(), a.bytes.begin() + a.size()); }

// A UDP socket bound to addr:port inside `ns` (created on a thread that entered the namespace;
// the socket stays in that namespace after the thread is gone).
Result<unique_fd> udp_socket_in(const netns::Namespace& ns, const netns::IpAddress& addr, uint16_t port) {
  int fd = -1, err = 0;
  std::thread t([&] {
    if (::setns(ns.fd(), CLONE_NEWNET) != 0) {
      err = errno;
      return;
    }
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      err = errno;
      return;
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    std::memcpy(&sa.sin_addr, addr.bytes.data(), 4);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  });
  t.join();
  if (fd < 0) return Error::sys("UDP socket on " + addr.str() + ":" + std::to_string(port), err);
  return unique_fd(fd);
}

class NativeInterop : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    char tmpl[] = "/tmp/ist-native-interop-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ASSERT_EQ(::setenv("IKESTORM_STATE_DIR", (dir_ + "/state").c_str(), 1), 0);
    auto state = RunState::create(new_run_id());
    ASSERT_TRUE(state.ok()) << state.error().describe();
    state_.emplace(std::move(state).value());
    netns::TopologySpec spec;
    spec.peer_count = 1;
    auto topo = netns::Topology::build(*state_, spec);
    ASSERT_TRUE(topo.ok()) << topo.error().describe();
    topo_.emplace(std::move(topo).value());

    charon::InstanceOptions o;
    o.name = "sut";
    o.netns = topo_->sut_ns().name();
    o.work_dir = dir_ + "/sut";
    o.settings = charon::default_settings(charon::Role::sut, charon::Backend::libipsec);
    o.run_state = &*state_;
    auto sut = charon::Instance::start(o);
    ASSERT_TRUE(sut.ok()) << sut.error().describe();
    sut_.emplace(std::move(sut).value());
    auto s = vici::Session::connect(loop_, sut_->vici_socket());
    ASSERT_TRUE(s.ok()) << s.error().describe();
    vici_ = std::move(s).value();
    auto secret = charon::to_load_shared({"all", kPsk, {}});
    ASSERT_TRUE(secret.ok());
    must("load-shared", *secret);

    for (uint16_t port : {ike_port, natt_port}) {
      auto fd = udp_socket_in(topo_->peers_ns(), topo_->peer_ike_address(0), port);
      ASSERT_TRUE(fd.ok()) << fd.error().describe();
      (port == ike_port ? sock500_ : sock4500_) = std::move(fd).value();
    }
  }

  void TearDown() override {
    if (!state_) return;
    sock500_.reset();
    sock4500_.reset();
    vici_.reset();
    std::vector<std::string> namespaces;
    if (sut_) {
      pid_t pid = sut_->pid();
      sut_->stop();
      EXPECT_TRUE(::kill(pid, 0) == -1 && errno == ESRCH) << "charon pid " << pid << " still alive";
      sut_.reset();
    }
    if (topo_) {
      namespaces = {topo_->sut_ns().name(), topo_->peers_ns().name()};
      EXPECT_TRUE(topo_->teardown().ok());
    }
    for (const auto& ns : namespaces) EXPECT_FALSE(named_netns_exists(ns)) << ns;
    auto live = state_->live_resources();
    ASSERT_TRUE(live.ok());
    EXPECT_TRUE(live->empty()) << "journal still lists " << live->size() << " resources";
    EXPECT_TRUE(state_->remove().ok());
    ::unsetenv("IKESTORM_STATE_DIR");
    std::error_code ec;
    if (!::testing::Test::HasFailure() && !::getenv("IST_KEEP_TEST_DIR")) fs::remove_all(dir_, ec);
  }

  // IST_NATIVE_RECORD_DIR=dir writes every datagram charon sent (non-ESP marker removed), the
  // source of the real-message seeds in tests/fuzz/corpus/fuzz_ike_message_parser/.
  void record_received(const std::string& tag) {
    const char* dir = ::getenv("IST_NATIVE_RECORD_DIR");
    if (!dir) return;
    for (size_t i = 0; i < received_.size(); ++i) {
      const Bytes& b = received_[i];
      size_t skip = b.size() >= 4 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0 ? 4 : 0;
      std::string path = std::string(dir) + "/charon_" + tag + "_" + std::to_string(i);
      if (FILE* f = std::fopen(path.c_str(), "wb")) {
        std::fwrite(b.data() + skip, 1, b.size() - skip, f);
        std::fclose(f);
      }
    }
    received_.clear();
  }

  void must(std::string_view cmd, const vici::Message& args) {
    auto r = vici_->call(cmd, args, 5s);
    ASSERT_TRUE(r.ok()) << cmd << ": " << r.error().describe();
    EXPECT_EQ(r->get_or("success", "yes"), "yes") << cmd << ": " << r->get_or("errmsg", "");
  }

  void load_responder(std::vector<std::string> ike, std::vector<std::string> esp,
                      std::chrono::seconds ike_rekey = 3600s, std::chrono::seconds child_rekey = 1200s) {
    charon::ResponderOptions o;
    o.ike = charon::ike_lifetimes_from_rekey(ike_rekey);
    o.child = charon::child_lifetimes_from_rekey(child_rekey);
    o.ike_proposals = std::move(ike);
    o.esp_proposals = std::move(esp);
    auto conn = charon::to_load_conn(charon::sut_responder_conn(o));
    ASSERT_TRUE(conn.ok()) << conn.error().describe();
    must("load-conn", *conn);
  }

  std::vector<vici::Message> list_sas() {
    auto r = vici_->call_stream("list-sas", "list-sa", {}, 5s);
    EXPECT_TRUE(r.ok()) << r.error().describe();
    if (!r.ok()) return {};
    std::vector<vici::Message> sas;
    for (auto& item : r->items)
      for (const auto& e : item.elements())
        if (e.kind == vici::Element::Kind::section) sas.push_back(*e.section);
    return sas;
  }

  InitiatorConfig peer_config() {
    InitiatorConfig c;
    c.local = Endpoint{address_bytes(topo_->peer_ike_address(0)), ike_port};
    c.remote = Endpoint{address_bytes(topo_->sut_ike_address()), ike_port};
    c.psk = to_bytes(kPsk);
    c.local_id = IdPayload{id_type::fqdn, to_bytes("native0.ikestorm.test")};
    c.remote_id = IdPayload{id_type::fqdn, to_bytes("sut.ikestorm.test")};
    Bytes inner = address_bytes(topo_->peer_inner_address(0));
    c.ts_local = {TrafficSelector{.start_address = inner, .end_address = inner}};
    auto subnet = topo_->sut_subnet();
    Bytes first = address_bytes(subnet.address);
    Bytes last = first;
    last[3] = 255;  // the /24 of DESIGN.md's plan
    c.ts_remote = {TrafficSelector{.start_address = first, .end_address = last}};
    c.retransmit = RetransmitPolicy{Millis(1000), 1.5, 3};
    return c;
  }

  // Runs the initiator against the SUT over the sockets until `done` or `budget` passes.
  std::vector<InitiatorEvent> drive(Initiator& ini, const std::function<bool(const std::vector<InitiatorEvent>&)>& done,
                                    std::chrono::milliseconds budget = 10s) {
    std::vector<InitiatorEvent> events;
    auto t0 = std::chrono::steady_clock::now();
    auto now = [&] { return std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - t0); };
    const Bytes sut = address_bytes(topo_->sut_ike_address());
    while (now() < budget) {
      for (auto& d : ini.take_outgoing()) {
        sockaddr_in to{};
        to.sin_family = AF_INET;
        to.sin_port = htons(d.remote_port);
        std::memcpy(&to.sin_addr, sut.data(), 4);
        int fd = d.local_port == natt_port ? sock4500_.get() : sock500_.get();
        ssize_t n = ::sendto(fd, d.payload.data(), d.payload.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
        EXPECT_EQ(n, static_cast<ssize_t>(d.payload.size())) << "sendto: " << std::strerror(errno);
        sent_.push_back(d);
      }
      auto ev = ini.take_events();
      events.insert(events.end(), ev.begin(), ev.end());
      if (done(events)) break;
      int wait_ms = 100;
      if (auto t = ini.next_timer()) wait_ms = static_cast<int>(std::clamp<int64_t>((*t - now()).count(), 0, 100));
      pollfd fds[2] = {{sock500_.get(), POLLIN, 0}, {sock4500_.get(), POLLIN, 0}};
      ::poll(fds, 2, wait_ms);
      for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & POLLIN)) continue;
        uint8_t buf[65536];
        ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n > 0) {
          received_.emplace_back(buf, buf + n);
          ini.on_datagram(now(), i == 0 ? ike_port : natt_port, ByteView(buf, static_cast<size_t>(n)));
        }
      }
      ini.on_timer(now());
    }
    return events;
  }

  std::string dir_;
  std::optional<RunState> state_;
  std::optional<netns::Topology> topo_;
  std::optional<charon::Instance> sut_;
  EventLoop loop_;
  std::unique_ptr<vici::Session> vici_;
  unique_fd sock500_, sock4500_;
  std::vector<Datagram> sent_;
  std::vector<Bytes> received_;
};

bool has(const std::vector<InitiatorEvent>& ev, EventKind k) {
  return std::any_of(ev.begin(), ev.end(), [&](const InitiatorEvent& e) { return e.kind == k; });
}
bool finished(const std::vector<InitiatorEvent>& ev) {
  return has(ev, EventKind::child_up) || has(ev, EventKind::failed);
}

std::string hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

struct InteropCase {
  const char* name;
  std::vector<std::string> sut_ike;  // the SUT's proposals (empty: charon's default)
  std::vector<std::string> sut_esp;
  IkeProposalConfig ike;
  EspProposalConfig esp;
  const char* expect_encr_alg;  // list-sas "encr-alg" of the IKE_SA
  uint16_t expect_group;        // the group finally used
  unsigned expect_ke_rounds;    // INVALID_KE_PAYLOAD rounds
};

TEST_F(NativeInterop, EstablishesIkeAndChildThenDeletesAgainstCharon) {
  const InteropCase cases[] = {
      {"x25519 aes128gcm16", {"aes128gcm16-prfsha256-x25519"}, {"aes128gcm16"},
       {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none, {31}},
       {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none}, "AES_GCM_16", 31, 0},
      {"ecp256 aes256-sha256", {"aes256-sha256-prfsha256-ecp256"}, {"aes256-sha256"},
       {transform_id::encr_aes_cbc, 256, transform_id::integ_hmac_sha2_256_128, {19}},
       {transform_id::encr_aes_cbc, 256, transform_id::integ_hmac_sha2_256_128}, "AES_CBC", 19, 0},
      {"modp2048 aes256gcm16", {"aes256gcm16-prfsha256-modp2048"}, {"aes256gcm16"},
       {transform_id::encr_aes_gcm_16, 256, transform_id::integ_none, {14}},
       {transform_id::encr_aes_gcm_16, 256, transform_id::integ_none}, "AES_GCM_16", 14, 0},
      {"INVALID_KE_PAYLOAD x25519 -> ecp256", {"aes128gcm16-prfsha256-ecp256"}, {"aes128gcm16"},
       {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none, {31, 19}},
       {transform_id::encr_aes_gcm_16, 128, transform_id::integ_none}, "AES_GCM_16", 19, 1},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    load_responder(c.sut_ike, c.sut_esp);
    auto cfg = peer_config();
    cfg.ike = c.ike;
    cfg.esp = c.esp;
    Initiator ini(cfg);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(ini.start(Millis(0)).ok());
    auto ev = drive(ini, finished);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& e : ev)
      if (e.kind == EventKind::failed)
        ADD_FAILURE() << "failed in exchange " << static_cast<int>(e.exchange) << ": " << cause_name(e.cause) << " "
                      << notify_name(e.notify) << " " << e.detail << " (SUT log " << sut_->log_path() << ")";
    ASSERT_TRUE(has(ev, EventKind::ike_up) && has(ev, EventKind::child_up));
    std::printf("[ native ] %s: IKE+CHILD up in %.1f ms, %u retransmits\n", c.name, ms, ini.stats().retransmits);
    EXPECT_EQ(ini.dh_group(), c.expect_group);
    EXPECT_EQ(ini.stats().ke_rounds, c.expect_ke_rounds);
    EXPECT_TRUE(ini.behind_nat());  // kernel-libipsec fakes NAT-D: IKE_AUTH went to 4500
    const ChildSa* child = ini.child();
    ASSERT_NE(child, nullptr);
    EXPECT_TRUE(child->udp_encap);

    auto sas = list_sas();
    ASSERT_EQ(sas.size(), 1u);
    const auto& sa = sas[0];
    EXPECT_EQ(sa.get_or("state", ""), "ESTABLISHED");
    EXPECT_EQ(sa.get_or("remote-id", ""), "native0.ikestorm.test");
    EXPECT_EQ(sa.get_or("remote-host", ""), topo_->peer_ike_address(0).str());
    EXPECT_EQ(sa.get_or("remote-port", ""), "4500");
    EXPECT_EQ(sa.get_or("encr-alg", ""), c.expect_encr_alg);
    EXPECT_EQ(std::stoull(sa.get_or("initiator-spi", "0"), nullptr, 16), ini.spi_i());
    EXPECT_EQ(std::stoull(sa.get_or("responder-spi", "0"), nullptr, 16), ini.spi_r());
    const auto* children = sa.find_section("child-sas");
    ASSERT_NE(children, nullptr);
    ASSERT_EQ(children->elements().size(), 1u);
    const auto& sut_child = *children->elements()[0].section;
    EXPECT_EQ(sut_child.get_or("state", ""), "INSTALLED");
    EXPECT_EQ(sut_child.get_or("encap", "no"), "yes");
    EXPECT_EQ(sut_child.get_or("spi-in", ""), hex32(child->spi_out));  // SUT's inbound = our outbound
    EXPECT_EQ(sut_child.get_or("spi-out", ""), hex32(child->spi_in));
    const auto* rts = sut_child.find_list("remote-ts");
    ASSERT_NE(rts, nullptr);
    EXPECT_EQ(*rts, std::vector<std::string>{topo_->peer_inner_address(0).str() + "/32"});

    ASSERT_TRUE(ini.delete_ike(Millis(0)).ok());
    auto del = drive(ini, [](const std::vector<InitiatorEvent>& e) { return has(e, EventKind::ike_deleted); });
    ASSERT_TRUE(has(del, EventKind::ike_deleted));
    EXPECT_EQ(ini.state(), InitiatorState::closed);
    EXPECT_EQ(del.back().cause, FailureCause::none) << "the SUT answered the delete";
    EXPECT_TRUE(list_sas().empty());
    std::string tag = c.name;
    std::replace_if(tag.begin(), tag.end(), [](char ch) { return !std::isalnum(static_cast<unsigned char>(ch)); }, '_');
    record_received(tag);
  }
}

// Checks the SUT holds exactly the native peer's current IKE_SA and CHILD_SA.
void expect_sut_matches(const std::vector<vici::Message>& sas, const Initiator& ini) {
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].get_or("state", ""), "ESTABLISHED");
  EXPECT_EQ(std::stoull(sas[0].get_or("initiator-spi", "0"), nullptr, 16), ini.spi_i());
  EXPECT_EQ(std::stoull(sas[0].get_or("responder-spi", "0"), nullptr, 16), ini.spi_r());
  const auto* children = sas[0].find_section("child-sas");
  ASSERT_NE(children, nullptr);
  ASSERT_NE(ini.child(), nullptr);
  std::vector<std::string> installed;
  for (const auto& e : children->elements())
    if (e.section && e.section->get_or("state", "") == "INSTALLED") installed.push_back(e.section->get_or("spi-in", ""));
  EXPECT_EQ(installed, std::vector<std::string>{hex32(ini.child()->spi_out)});
}

TEST_F(NativeInterop, NativeSideRekeysChildAndIkeSa) {
  load_responder({"aes128gcm16-prfsha256-x25519"}, {"aes128gcm16"});
  Initiator ini(peer_config());
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  ASSERT_TRUE(has(drive(ini, finished), EventKind::child_up));
  ASSERT_NE(ini.child(), nullptr);
  const uint32_t first_spi = ini.child() ? ini.child()->spi_in : 0;
  const uint64_t first_ike = ini.spi_i();

  ASSERT_TRUE(ini.rekey_child(Millis(0)).ok());
  auto ev = drive(ini, [](const std::vector<InitiatorEvent>& e) {
    return has(e, EventKind::child_rekeyed) || has(e, EventKind::failed);
  });
  ASSERT_TRUE(has(ev, EventKind::child_rekeyed)) << (ev.empty() ? "no events" : ev.back().detail);
  EXPECT_NE(ini.child() ? ini.child()->spi_in : first_spi, first_spi);
  expect_sut_matches(list_sas(), ini);

  ASSERT_TRUE(ini.rekey_ike(Millis(0)).ok());
  ev = drive(ini, [](const std::vector<InitiatorEvent>& e) {
    return has(e, EventKind::ike_rekeyed) || has(e, EventKind::failed);
  });
  ASSERT_TRUE(has(ev, EventKind::ike_rekeyed)) << (ev.empty() ? "no events" : ev.back().detail);
  EXPECT_NE(ini.spi_i(), first_ike);
  EXPECT_TRUE(ini.original_initiator());
  expect_sut_matches(list_sas(), ini);

  // The CHILD_SA survives on the new IKE_SA and can be rekeyed there.
  ASSERT_TRUE(ini.rekey_child(Millis(0)).ok());
  ev = drive(ini, [](const std::vector<InitiatorEvent>& e) {
    return has(e, EventKind::child_rekeyed) || has(e, EventKind::failed);
  });
  ASSERT_TRUE(has(ev, EventKind::child_rekeyed));
  expect_sut_matches(list_sas(), ini);
  EXPECT_EQ(ini.stats().child_rekeys, 2u);
  EXPECT_EQ(ini.stats().ike_rekeys, 1u);

  ASSERT_TRUE(ini.delete_ike(Millis(0)).ok());
  ASSERT_TRUE(has(drive(ini, [](const std::vector<InitiatorEvent>& e) { return has(e, EventKind::ike_deleted); }),
                  EventKind::ike_deleted));
  EXPECT_TRUE(list_sas().empty());
}

TEST_F(NativeInterop, AnswersTheSutsOwnRekeysInAShortLifetimeHold) {
  // The SUT rekeys its CHILD_SA every 2 s and its IKE_SA every 3 s (life 1.1x); the native
  // peer never starts a rekey, it only answers. After 8 s of hold every rekey must have
  // completed and the SUT must hold exactly the peer's current SAs.
  load_responder({"aes128gcm16-prfsha256-x25519"}, {"aes128gcm16"}, 3s, 2s);
  Initiator ini(peer_config());
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  ASSERT_TRUE(has(drive(ini, finished), EventKind::child_up));
  auto ev = drive(ini, [](const std::vector<InitiatorEvent>&) { return false; }, 8s);
  int child_rekeys = 0, ike_rekeys = 0;
  for (const auto& e : ev) {
    if (e.kind == EventKind::failed || e.kind == EventKind::ike_deleted || e.kind == EventKind::child_deleted)
      ADD_FAILURE() << event_name(e.kind) << ": " << cause_name(e.cause) << " " << notify_name(e.notify) << " "
                    << e.detail;
    if (e.kind == EventKind::child_rekeyed && e.by_peer) ++child_rekeys;
    if (e.kind == EventKind::ike_rekeyed && e.by_peer) ++ike_rekeys;
  }
  std::printf("[ native ] SUT-initiated rekeys answered in 8 s: %d CHILD, %d IKE; refused %u\n", child_rekeys, ike_rekeys,
              ini.stats().refused_requests);
  EXPECT_GE(child_rekeys, 2);
  EXPECT_GE(ike_rekeys, 1);
  EXPECT_EQ(ini.stats().refused_requests, 0u);
  EXPECT_EQ(ini.state(), InitiatorState::established);
  // Let in-flight deletes of replaced SAs finish before comparing.
  drive(ini, [](const std::vector<InitiatorEvent>&) { return false; }, 300ms);
  expect_sut_matches(list_sas(), ini);

  ASSERT_TRUE(ini.delete_ike(Millis(0)).ok());
  ASSERT_TRUE(has(drive(ini, [](const std::vector<InitiatorEvent>& e) { return has(e, EventKind::ike_deleted); }),
                  EventKind::ike_deleted));
  EXPECT_TRUE(list_sas().empty());
}

TEST_F(NativeInterop, WrongPskIsRefusedWithAuthenticationFailed) {
  load_responder({}, {});
  auto cfg = peer_config();
  cfg.psk = to_bytes("not the SUT's secret");
  Initiator ini(cfg);
  ASSERT_TRUE(ini.start(Millis(0)).ok());
  auto ev = drive(ini, finished);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].kind, EventKind::failed);
  EXPECT_EQ(ev[0].exchange, ExchangeType::ike_auth);
  EXPECT_EQ(ev[0].cause, FailureCause::notify_received);
  EXPECT_EQ(ev[0].notify, notify_type::authentication_failed);
  EXPECT_TRUE(list_sas().empty());
  record_received("wrong_psk");
}

}  // namespace
}  // namespace ist::native
