// NativeFleet: the scenario's proposal strings as native suites (table-driven), and the
// engine itself on loopback inside a private network namespace, against a SUT socket that
// never answers: retransmits on schedule, the classifier's give-up text, terminate.
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fcntl.h>

#include <cstring>
#include <thread>

#include "fleet/native/native_fleet.hpp"

namespace ist::fleet {
namespace {

namespace tid = native::transform_id;
using namespace std::chrono_literals;

struct IkeCase {
  std::string proposal;
  uint16_t encr, bits, integ;
  std::vector<uint16_t> groups;
};

TEST(NativeProposals, MapsSupportedIkeProposals) {
  const IkeCase cases[] = {
      {"aes128-sha256-x25519", tid::encr_aes_cbc, 128, tid::integ_hmac_sha2_256_128, {tid::dh_x25519}},
      {"aes256-sha256-prfsha256-ecp256", tid::encr_aes_cbc, 256, tid::integ_hmac_sha2_256_128, {tid::dh_ecp256}},
      {"aes128gcm16-prfsha256-x25519-modp2048", tid::encr_aes_gcm_16, 128, tid::integ_none,
       {tid::dh_x25519, tid::dh_modp2048}},
      {"aes256gcm16-curve25519", tid::encr_aes_gcm_16, 256, tid::integ_none, {tid::dh_x25519}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.proposal);
    auto r = native_ike_proposal({c.proposal});
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->encr, c.encr);
    EXPECT_EQ(r->key_bits, c.bits);
    EXPECT_EQ(r->integ, c.integ);
    EXPECT_EQ(r->dh_groups, c.groups);
  }
}

TEST(NativeProposals, MapsSupportedEspProposals) {
  const IkeCase cases[] = {
      {"aes128gcm16", tid::encr_aes_gcm_16, 128, tid::integ_none, {}},
      {"aes256-sha256", tid::encr_aes_cbc, 256, tid::integ_hmac_sha2_256_128, {}},
      {"aes192gcm16-noesn", tid::encr_aes_gcm_16, 192, tid::integ_none, {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.proposal);
    auto r = native_esp_proposal({c.proposal});
    ASSERT_TRUE(r.ok()) << r.error().describe();
    EXPECT_EQ(r->encr, c.encr);
    EXPECT_EQ(r->key_bits, c.bits);
    EXPECT_EQ(r->integ, c.integ);
  }
}

TEST(NativeProposals, RefusesWhatItCannotDoWithTheReason) {
  struct Case {
    bool ike;
    std::vector<std::string> proposals;
    std::string message;
  };
  const Case cases[] = {
      {true, {"3des-sha1-modp1024"}, "'3des' in '3des-sha1-modp1024' is not supported"},
      {true, {"aes128-sha384-x25519"}, "'sha384'"},
      {true, {"aes128-sha256"}, "has no DH group"},
      {true, {"aes128-x25519"}, "needs sha256 with AES-CBC"},
      {true, {"aes128gcm16-sha256-x25519"}, "combines AES-GCM with an integrity algorithm"},
      {true, {"aes128-sha256-x25519", "aes256-sha256-ecp256"}, "exactly one IKE proposal"},
      {true, {}, "exactly one IKE proposal"},
      {false, {"aes128gcm16-x25519"}, "asks for PFS"},
      {false, {"chacha20poly1305"}, "'chacha20poly1305'"},
      {false, {"aes128gcm16-esn"}, "'esn'"},
      {false, {"sha256"}, "has no encryption algorithm"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    std::string why;
    if (c.ike) {
      auto r = native_ike_proposal(c.proposals);
      ASSERT_FALSE(r.ok());
      why = r.error().describe();
    } else {
      auto r = native_esp_proposal(c.proposals);
      ASSERT_FALSE(r.ok());
      why = r.error().describe();
    }
    EXPECT_NE(why.find(c.message), std::string::npos) << why;
  }
}

TEST(NativeIdentities, TypesAddressesAsCharonDoes) {
  struct Case {
    std::string text;
    uint8_t type;
    native::Bytes data;
  } cases[] = {
      {"198.19.0.1", native::id_type::ipv4_addr, {198, 19, 0, 1}},
      {"2001:2:0:2::1", native::id_type::ipv6_addr, {0x20, 0x01, 0, 2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1}},
      {"::ffff:198.19.0.1", native::id_type::ipv6_addr, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 19, 0, 1}},
      {"@sut.ikestorm.test", native::id_type::fqdn, native::to_bytes("sut.ikestorm.test")},
      {"p1@peers.ikestorm", native::id_type::rfc822_addr, native::to_bytes("p1@peers.ikestorm")},
      {"sut.ikestorm.test", native::id_type::fqdn, native::to_bytes("sut.ikestorm.test")},
      {"2001:2::1::5", native::id_type::fqdn, native::to_bytes("2001:2::1::5")},  // not an address
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto id = native_identity(c.text);
    EXPECT_EQ(id.id_type, c.type);
    EXPECT_EQ(id.data, c.data);
  }
}

TEST(NativeSelectors, MakesIpv4AndIpv6AddressRanges) {
  auto v6 = native_selector("2001:2:0:ff::/64");
  ASSERT_TRUE(v6.ok()) << v6.error().describe();
  EXPECT_EQ(v6->type, native::ts_type::ipv6_addr_range);
  EXPECT_EQ(native::to_hex(v6->start_address), "20010002000000ff0000000000000000");
  EXPECT_EQ(native::to_hex(v6->end_address), "20010002000000ffffffffffffffffff");
  EXPECT_EQ(v6->start_port, 0);
  EXPECT_EQ(v6->end_port, 65535);
  auto host = native_selector("2001:2:0:3::5");
  ASSERT_TRUE(host.ok());
  EXPECT_EQ(host->start_address, host->end_address);
  EXPECT_EQ(native::to_hex(host->start_address), "20010002000000030000000000000005");
  auto odd = native_selector("2001:2:0:3::/57");  // bits past the prefix cleared and set
  ASSERT_TRUE(odd.ok());
  EXPECT_EQ(native::to_hex(odd->start_address), "20010002000000000000000000000000");
  EXPECT_EQ(native::to_hex(odd->end_address), "200100020000007fffffffffffffffff");
  auto v4 = native_selector("198.18.255.0/24");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->type, native::ts_type::ipv4_addr_range);
  EXPECT_EQ(native::to_hex(v4->end_address), "c612ffff");
  for (const char* bad : {"2001:2::/129", "198.18.0.0/33", "2001:2::/x", "sut.ikestorm.test"})
    EXPECT_FALSE(native_selector(bad).ok()) << bad;
}

// A private network namespace with loopback up, kept by an fd; run_in enters it on a thread.
class PrivateLoopback {
 public:
  bool make() {
    bool ok = false;
    std::thread t([&] {
      if (::unshare(CLONE_NEWNET) != 0) return;
      int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      ifreq ifr{};
      std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
      ok = s >= 0 && ::ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && ((ifr.ifr_flags |= IFF_UP), ::ioctl(s, SIOCSIFFLAGS, &ifr) == 0);
      if (s >= 0) ::close(s);
      ns_.reset(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
      ok = ok && ns_.valid();
    });
    t.join();
    return ok;
  }
  Status run_in(const std::function<Status()>& fn) const {
    Status result;
    std::thread t([&] {
      if (::setns(ns_.get(), CLONE_NEWNET) != 0) {
        result = Error::sys("setns");
        return;
      }
      result = fn();
    });
    t.join();
    return result;
  }

 private:
  unique_fd ns_;
};

class NativeFleetLoopback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (a private network namespace)";
    ASSERT_TRUE(ns_.make());
    // The silent SUT: 127.0.0.1:500, reads and counts, never answers.
    ASSERT_TRUE(ns_.run_in([&]() -> Status {
                     sut_.reset(::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
                     sockaddr_in a{};
                     a.sin_family = AF_INET;
                     a.sin_port = htons(500);
                     a.sin_addr.s_addr = htonl(0x7f000001);
                     if (::bind(sut_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return Error::sys("bind");
                     return ok();
                   }).ok());
    ASSERT_TRUE(loop_.add_fd(sut_.get(), EPOLLIN, [this](uint32_t) {
      uint8_t buf[2048];
      while (::recv(sut_.get(), buf, sizeof buf, 0) > 0) ++sut_received_;
    }).ok());
  }
  void TearDown() override {
    if (sut_) loop_.remove_fd(sut_.get());
  }

  NativeFleetOptions options(uint32_t peers) {
    NativeFleetOptions o;
    o.peers = peers;
    o.run_in = [this](const std::function<Status()>& fn) { return ns_.run_in(fn); };
    o.ike_address = [](uint32_t i) { return "127.0.1." + std::to_string(i + 1); };
    o.inner_address = [](uint32_t i) { return "198.19.128." + std::to_string(i + 1); };
    o.sut_address = "127.0.0.1";
    o.psk = "unit-psk";
    o.retransmit = native::RetransmitPolicy{native::Millis(100), 1.0, 2};
    return o;
  }

  PrivateLoopback ns_;
  EventLoop loop_;
  unique_fd sut_;
  int sut_received_ = 0;
};

TEST_F(NativeFleetLoopback, SilentSutEndsEachAttemptWithTheGiveUpText) {
  auto f = NativeFleet::start(loop_, options(3));
  ASSERT_TRUE(f.ok()) << f.error().describe();
  EXPECT_EQ((*f)->attempt_timeout(), 300ms + 5s);  // 3 waits of 100 ms, plus the margin
  std::vector<PeerObservation> seen;
  (*f)->set_sink([&](const PeerObservation& o) { seen.push_back(o); });
  for (uint32_t i = 0; i < 3; ++i) (*f)->initiate(i);
  auto done = loop_.run_until([&] { return seen.size() == 3; }, loop_.clock().now() + 3s);
  ASSERT_TRUE(done.ok() && *done);
  for (const auto& o : seen) {
    EXPECT_EQ(o.kind, PeerObservation::Kind::attempt_failed);
    EXPECT_NE(o.detail.find("giving up after 2 retransmits"), std::string::npos) << o.detail;
  }
  (void)loop_.run_once(50ms);
  EXPECT_EQ(sut_received_, 9);  // IKE_SA_INIT and 2 retransmits per peer
  EXPECT_EQ((*f)->datagrams_sent(), 9u);
  EXPECT_EQ((*f)->send_errors(), 0u);
  EXPECT_TRUE((*f)->stop().ok());
}

TEST_F(NativeFleetLoopback, TerminateAbandonsAnAttemptAndStopsItsRetransmits) {
  auto f = NativeFleet::start(loop_, options(1));
  ASSERT_TRUE(f.ok()) << f.error().describe();
  std::vector<PeerObservation> seen;
  (*f)->set_sink([&](const PeerObservation& o) { seen.push_back(o); });
  (*f)->initiate(0);
  (void)loop_.run_once(20ms);
  (*f)->terminate(0);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, PeerObservation::Kind::attempt_failed);
  EXPECT_NE(seen[0].detail.find("abandoned by terminate"), std::string::npos);
  auto end = loop_.clock().now() + 400ms;
  (void)loop_.run_until([] { return false; }, end);
  EXPECT_EQ(sut_received_, 1);  // no retransmit after the terminate
  EXPECT_EQ(seen.size(), 1u);
}

TEST_F(NativeFleetLoopback, RefusesOptionsItCannotUse) {
  auto o = options(1);
  o.psk.clear();
  auto f = NativeFleet::start(loop_, o);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().describe().find("PSK"), std::string::npos);
  o = options(1);
  o.sut_address = "2001:2::1";
  f = NativeFleet::start(loop_, o);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.error().describe().find("different families"), std::string::npos);
}

}  // namespace
}  // namespace ist::fleet
