// XFRM netlink parser on messages recorded from this kernel (tests/fixtures/xfrm/*.hex,
// made by record.py there) and on messages built here for what this kernel cannot produce
// without ESP (a full NEWSA, a soft SA expire). Garbage never crashes the parser.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/xfrm.h>

#include <cstring>
#include <random>

#include "xfrm/json_lines.hpp"
#include "xfrm/message.hpp"
#include "xfrm_fixture.hpp"

namespace ist::xfrm {
namespace {

std::vector<Message> parse_fixture(const std::string& name) {
  std::vector<Message> out;
  auto datagrams = test::load_fixture(name);
  EXPECT_FALSE(datagrams.empty()) << name;
  for (const auto& d : datagrams) {
    auto st = for_each_message(d, [&](Result<Message> m) {
      ASSERT_TRUE(m.ok()) << name << ": " << m.error().describe();
      out.push_back(*m);
    });
    EXPECT_TRUE(st.ok()) << name;
  }
  return out;
}

struct KindCase {
  const char* fixture;
  std::vector<std::string> kinds;  // event_kind per message; "" for replies
};

TEST(XfrmMessage, EachRecordedFixtureParsesToItsKinds) {
  const std::vector<KindCase> cases = {
      {"new_policy", {"new_policy", "new_policy", "new_policy"}},
      {"update_policy", {"update_policy"}},
      {"spdinfo", {""}},
      {"acquire_v4", {"acquire"}},
      {"acquire_v6", {"acquire"}},
      {"sadinfo", {""}},
      {"sa_dump_larval", {"new_sa", ""}},
      {"expire_hard_larval", {"expire"}},
      {"policy_dump", {"new_policy", "new_policy", "new_policy", ""}},
      {"delete_sa", {"delete_sa"}},
      {"flush_sa", {"flush_sa"}},
      {"policy_expire", {"policy_expire", "policy_expire"}},
      {"delete_policy", {"delete_policy"}},
      {"flush_policy", {"flush_policy"}},
  };
  for (const auto& c : cases) {
    auto msgs = parse_fixture(c.fixture);
    std::vector<std::string> kinds;
    for (const auto& m : msgs) kinds.emplace_back(event_kind(m.body));
    EXPECT_EQ(kinds, c.kinds) << c.fixture;
  }
}

TEST(XfrmMessage, AcquireCarriesFlowPolicyAndTemplate) {
  auto msgs = parse_fixture("acquire_v4");
  ASSERT_EQ(msgs.size(), 1u);
  const auto& a = std::get<Acquire>(msgs[0].body);
  EXPECT_EQ(a.src.str(), "198.18.254.1");
  EXPECT_EQ(a.dst.str(), "198.18.254.9");
  EXPECT_EQ(proto_name(a.proto), "esp");
  EXPECT_EQ(a.flow.str(), "198.18.254.1/32 -> 198.18.254.9/32 udp 40001->5000");
  EXPECT_EQ(a.policy.dir, Direction::out);
  EXPECT_EQ(a.policy.priority, 200u);  // after update_policy
  EXPECT_EQ(a.policy.sel.str(), "198.18.254.1/32 -> 198.18.254.9/32");
  EXPECT_EQ(event_addresses(msgs[0].body),
            (std::vector<std::string>{"198.18.254.1", "198.18.254.9", "198.18.254.1", "198.18.254.9"}));
}

TEST(XfrmMessage, AcquireV6) {
  auto msgs = parse_fixture("acquire_v6");
  ASSERT_EQ(msgs.size(), 1u);
  const auto& a = std::get<Acquire>(msgs[0].body);
  EXPECT_EQ(a.src.str(), "2001:2:0:fe::1");
  EXPECT_EQ(a.dst.str(), "2001:2:0:fe::9");
  EXPECT_EQ(a.flow.str(), "2001:2:0:fe::1/128 -> 2001:2:0:fe::9/128 udp 40002->5001");
}

TEST(XfrmMessage, LarvalExpireIsHardWithTheAcquiredFlow) {
  auto msgs = parse_fixture("expire_hard_larval");
  ASSERT_EQ(msgs.size(), 1u);
  const auto& x = std::get<Expire>(msgs[0].body);
  EXPECT_TRUE(x.hard);
  EXPECT_EQ(x.sa.spi, 0u);
  EXPECT_EQ(x.sa.reqid, 7u);
  EXPECT_EQ(mode_name(x.sa.mode), "tunnel");
  EXPECT_EQ(x.sa.sel.sport, 40001);
}

TEST(XfrmMessage, DeleteSaTakesTheStateFromXfrmaSa) {
  auto msgs = parse_fixture("delete_sa");
  ASSERT_EQ(msgs.size(), 1u);
  const auto& d = std::get<SaChange>(msgs[0].body);
  EXPECT_EQ(d.kind, SaChange::Kind::deleted);
  EXPECT_GE(d.sa.spi, 0x1000u);  // allocspi min..max
  EXPECT_LE(d.sa.spi, 0x1fffu);
  EXPECT_EQ(d.sa.reqid, 9u);  // only in the XFRMA_SA attribute, not in the id
  EXPECT_EQ(d.sa.src.str(), "198.18.254.1");
  EXPECT_EQ(d.sa.sel.str(), "any");
}

TEST(XfrmMessage, CountsFromSadAndSpdInfo) {
  auto sad = parse_fixture("sadinfo");
  ASSERT_EQ(sad.size(), 1u);
  EXPECT_EQ(std::get<SadInfo>(sad[0].body).count, 1u);  // the ACQUIRE's larval state
  auto spd = parse_fixture("spdinfo");
  ASSERT_EQ(spd.size(), 1u);
  const auto& s = std::get<SpdInfo>(spd[0].body);
  EXPECT_EQ(s.in, 1u);
  EXPECT_EQ(s.out, 1u);
  EXPECT_EQ(s.fwd, 1u);
}

TEST(XfrmMessage, PolicyExpireSoftThenHard) {
  auto msgs = parse_fixture("policy_expire");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_FALSE(std::get<PolicyExpire>(msgs[0].body).hard);
  EXPECT_TRUE(std::get<PolicyExpire>(msgs[1].body).hard);
  EXPECT_EQ(std::get<PolicyExpire>(msgs[1].body).policy.sel.str(), "198.18.254.2/32 -> 198.18.254.3/32");
}

TEST(XfrmMessage, DeletePolicyTakesThePolicyFromXfrmaPolicy) {
  auto msgs = parse_fixture("delete_policy");
  ASSERT_EQ(msgs.size(), 1u);
  const auto& p = std::get<PolicyChange>(msgs[0].body);
  EXPECT_EQ(p.kind, PolicyChange::Kind::deleted);
  EXPECT_EQ(p.policy.dir, Direction::fwd);
  EXPECT_EQ(p.policy.sel.str(), "198.18.254.9/32 -> 198.18.254.1/32");
}

// ---- messages this kernel cannot produce (no ESP): built from the uapi structs.

std::vector<uint8_t> nl_message(uint16_t type, const void* body, std::size_t len) {
  std::vector<uint8_t> out(NLMSG_HDRLEN + NLMSG_ALIGN(len), 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(NLMSG_HDRLEN + len);
  h.nlmsg_type = type;
  std::memcpy(out.data(), &h, sizeof h);
  std::memcpy(out.data() + NLMSG_HDRLEN, body, len);
  return out;
}

xfrm_usersa_info established_sa() {
  xfrm_usersa_info sa{};
  sa.family = AF_INET;
  ::inet_pton(AF_INET, "198.18.0.1", &sa.saddr.a4);
  ::inet_pton(AF_INET, "198.19.0.5", &sa.id.daddr.a4);
  sa.id.spi = htonl(0xc1a2b3c4);
  sa.id.proto = IPPROTO_ESP;
  sa.mode = XFRM_MODE_TUNNEL;
  sa.reqid = 42;
  sa.sel.family = AF_INET;
  ::inet_pton(AF_INET, "198.18.255.0", &sa.sel.saddr.a4);
  ::inet_pton(AF_INET, "198.19.128.5", &sa.sel.daddr.a4);
  sa.sel.prefixlen_s = 24;
  sa.sel.prefixlen_d = 32;
  return sa;
}

TEST(XfrmMessage, BuiltNewSaAndSoftExpire) {
  auto sa = established_sa();
  auto m = parse_message(nl_message(XFRM_MSG_NEWSA, &sa, sizeof sa));
  ASSERT_TRUE(m.ok()) << m.error().describe();
  const auto& n = std::get<SaChange>(m->body);
  EXPECT_EQ(n.kind, SaChange::Kind::added);
  EXPECT_EQ(n.sa.spi, 0xc1a2b3c4u);
  EXPECT_EQ(n.sa.sel.str(), "198.18.255.0/24 -> 198.19.128.5/32");

  xfrm_user_expire ue{};
  ue.state = sa;
  ue.hard = 0;
  auto e = parse_message(nl_message(XFRM_MSG_EXPIRE, &ue, sizeof ue));
  ASSERT_TRUE(e.ok()) << e.error().describe();
  EXPECT_FALSE(std::get<Expire>(e->body).hard);
  EXPECT_EQ(describe(e->body), "soft expire esp spi 0xc1a2b3c4 198.18.0.1 -> 198.19.0.5 reqid 42");
  auto j = event_json(Event{{}, *e}, {}, "sut");
  EXPECT_EQ(j["kind"], "expire");
  EXPECT_EQ(j["sa"]["spi"], "0xc1a2b3c4");
  EXPECT_EQ(j.begin().key(), "t_ms");  // the documented line starts with t_ms, kind
}

TEST(XfrmMessage, UnknownTypesAreNotErrors) {
  uint32_t x = 0;
  auto m = parse_message(nl_message(XFRM_MSG_NEWAE, &x, sizeof x));
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(std::get<Unknown>(m->body).type, XFRM_MSG_NEWAE);
  EXPECT_EQ(event_kind(m->body), "");
}

// ---- garbage

TEST(XfrmMessage, EveryTruncationOfEveryFixtureIsHandled) {
  for (const char* name : {"acquire_v4", "acquire_v6", "expire_hard_larval", "delete_sa", "delete_policy",
                           "policy_dump", "sadinfo", "spdinfo", "policy_expire", "flush_sa"}) {
    for (const auto& d : test::load_fixture(name)) {
      for (std::size_t n = 0; n < d.size(); ++n) {
        std::span<const uint8_t> cut(d.data(), n);
        std::size_t seen = 0;
        (void)for_each_message(cut, [&](Result<Message>) { ++seen; });
        auto m = parse_message(cut);
        // A message cut inside its declared length is never accepted as whole.
        uint32_t declared = 0;
        std::memcpy(&declared, d.data(), 4);
        if (n < declared) {
          EXPECT_FALSE(m.ok()) << name << " cut at " << n;
        }
        EXPECT_LE(seen, 4u);
      }
    }
  }
}

TEST(XfrmMessage, ShortBodiesAreErrorsNamingWhatIsMissing) {
  struct Case {
    uint16_t type;
    std::size_t body_len;
  };
  for (auto c : {Case{XFRM_MSG_ACQUIRE, 10}, Case{XFRM_MSG_EXPIRE, sizeof(xfrm_usersa_info)},
                 Case{XFRM_MSG_NEWSA, 100}, Case{XFRM_MSG_DELSA, 4}, Case{XFRM_MSG_NEWPOLICY, 20},
                 Case{XFRM_MSG_DELPOLICY, 8}, Case{XFRM_MSG_POLEXPIRE, sizeof(xfrm_userpolicy_info)},
                 Case{XFRM_MSG_NEWSADINFO, 2}}) {
    std::vector<uint8_t> body(c.body_len, 0);
    auto m = parse_message(nl_message(c.type, body.data(), body.size()));
    ASSERT_FALSE(m.ok()) << c.type;
    EXPECT_NE(m.error().describe().find("truncated"), std::string::npos) << m.error().describe();
  }
}

TEST(XfrmMessage, BadAttributeLengthIsAnError) {
  xfrm_usersa_id id{};
  std::vector<uint8_t> body(NLMSG_ALIGN(sizeof id) + 8, 0);
  std::memcpy(body.data(), &id, sizeof id);
  nlattr a{200, XFRMA_SA};  // claims 200 bytes, 8 are there
  std::memcpy(body.data() + NLMSG_ALIGN(sizeof id), &a, sizeof a);
  auto m = parse_message(nl_message(XFRM_MSG_DELSA, body.data(), body.size()));
  EXPECT_FALSE(m.ok());
}

TEST(XfrmMessage, RandomBytesAndBitFlipsNeverCrash) {
  std::mt19937 rng(7);
  auto base = test::load_fixture("acquire_v4").at(0);
  for (int i = 0; i < 20000; ++i) {
    auto d = base;
    for (int f = 0; f < 4; ++f) d[rng() % d.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    std::size_t n = 0;
    (void)for_each_message(d, [&](Result<Message> m) {
      ++n;
      if (m) (void)describe(m->body);
    });
    std::vector<uint8_t> junk(rng() % 600);
    for (auto& b : junk) b = static_cast<uint8_t>(rng());
    (void)for_each_message(junk, [](Result<Message>) {});
  }
  SUCCEED();
}

TEST(XfrmMessage, FramingErrorStopsTheWalkAfterGoodMessages) {
  auto good = test::load_fixture("flush_policy").at(0);
  auto d = good;
  std::vector<uint8_t> bad(16, 0);
  uint32_t len = 4000;
  std::memcpy(bad.data(), &len, 4);
  d.insert(d.end(), bad.begin(), bad.end());
  int delivered = 0;
  auto st = for_each_message(d, [&](Result<Message> m) { delivered += m.ok(); });
  EXPECT_EQ(delivered, 1);
  EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace ist::xfrm
