// The malformed-message generator on a real IKE_SA_INIT of the native initiator: each kind
// breaks exactly what it says, and the engine's own strict parser notices.
#include <gtest/gtest.h>

#include "fleet/native/flood_malformed.hpp"
#include "impair_test_util.hpp"

namespace ist::native {
namespace {

TEST(Malform, EachKindBreaksWhatItSays) {
  const Bytes init = test::real_ike_sa_init();
  ASSERT_GE(init.size(), 100u);
  auto original = parse_message(init);
  ASSERT_TRUE(original.ok()) << original.error().describe();
  const auto* nonce = original->find<NoncePayload>(PayloadType::nonce);
  const auto* ke = original->find<KePayload>(PayloadType::ke);
  ASSERT_TRUE(nonce != nullptr && ke != nullptr);
  const size_t nonce_len = nonce->nonce.size();
  const size_t ke_len = ke->data.size();

  struct Case {
    MalformKind kind;
    std::function<void(const Bytes&)> check;
  };
  const Case cases[] = {
      {MalformKind::unknown_critical,
       [&](const Bytes& m) {
         EXPECT_EQ(m.size(), init.size() + 8);
         EXPECT_EQ(m[16], 200);
         EXPECT_EQ(m[28], init[16]);  // the inserted payload chains to the old first one
         EXPECT_EQ(m[29] & 0x80, 0x80);
         EXPECT_EQ(get_u32(m.data() + 24), m.size());
         EXPECT_FALSE(parse_message(m).ok());  // unknown critical payloads are errors
       }},
      {MalformKind::bad_version,
       [&](const Bytes& m) {
         EXPECT_EQ(m[17], 0x30);
         EXPECT_EQ(m.size(), init.size());
       }},
      {MalformKind::short_nonce,
       [&](const Bytes& m) {
         auto p = parse_message(m);  // the engine's own parser refuses it, naming the nonce
         ASSERT_FALSE(p.ok());
         EXPECT_NE(p.error().describe().find("nonce of 8 bytes"), std::string::npos) << p.error().describe();
         EXPECT_EQ(m.size(), init.size() - (nonce_len - 8));
         EXPECT_EQ(get_u32(m.data() + 24), m.size());
       }},
      {MalformKind::bad_ke,
       [&](const Bytes& m) {
         auto p = parse_message(m);
         ASSERT_TRUE(p.ok()) << p.error().describe();
         const auto* k = p->find<KePayload>(PayloadType::ke);
         ASSERT_NE(k, nullptr);
         EXPECT_EQ(k->data.size(), ke_len - 1);
       }},
      {MalformKind::bad_length,
       [&](const Bytes& m) {
         EXPECT_EQ(m.size(), init.size());
         EXPECT_FALSE(parse_message(m).ok());
       }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(to_string(c.kind));
    auto m = malform_ike(init, c.kind);
    ASSERT_TRUE(m.ok()) << m.error().describe();
    EXPECT_NE(*m, init);
    c.check(*m);
  }
}

TEST(Malform, RefusesWhatTheMessageLacks) {
  const Bytes header_only = test::ike_header(ExchangeType::ike_auth, false, 1);
  EXPECT_FALSE(malform_ike(header_only, MalformKind::short_nonce).ok());
  EXPECT_FALSE(malform_ike(header_only, MalformKind::bad_ke).ok());
  EXPECT_FALSE(malform_ike(header_only, MalformKind::bad_length).ok());
  EXPECT_TRUE(malform_ike(header_only, MalformKind::bad_version).ok());
  EXPECT_FALSE(malform_ike(Bytes(10, 0), MalformKind::bad_version).ok());
  Bytes broken = test::real_ike_sa_init();
  ASSERT_GE(broken.size(), 100u);
  broken[30] = 0xff;  // the first payload's length now runs past the end
  broken[31] = 0xff;
  EXPECT_FALSE(malform_ike(broken, MalformKind::short_nonce).ok());
}

}  // namespace
}  // namespace ist::native
