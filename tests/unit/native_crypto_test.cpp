// Key derivation and SK payload test vectors.
//
// Published vectors: HMAC-SHA-256 from RFC 4231 section 4, X25519 from RFC 7748 section 6.1,
// AES-GCM from McGrew & Viega, "The Galois/Counter Mode of Operation", test case 4.
// Vectors marked "python" were computed independently of this code with Python 3's hmac and
// hashlib and the `cryptography` package (AESGCM, AES-CBC), from the RFC 7296 formulas:
//   prf = HMAC-SHA256; prf+(K,S) = T1|T2|..., Tn = prf(K, Tn-1 | S | n)
//   SKEYSEED = prf(Ni|Nr, g^ir); keys = prf+(SKEYSEED, Ni|Nr|SPIi|SPIr) split d,ai,ar,ei,er,pi,pr
//   KEYMAT = prf+(SK_d, Ni|Nr); AUTH = prf(prf(PSK,"Key Pad for IKEv2"), msg|Nr|prf(SK_pi, IDi'))
//   with Ni = 0x11*32, Nr = 0x22*32, g^ir = 0x5a*32, SPIi = 0102030405060708,
//   SPIr = 1112131415161718; sealed messages: IKE_AUTH, flags I, message id 1, inner IDi fqdn
//   "peer1", IV = 00 01 02 ..., GCM pad length 0, CBC zero padding to 16 bytes.
#include <gtest/gtest.h>

#include <string>

#include "ike/crypto.hpp"
#include "ike/sk_payload.hpp"

namespace ist::native {
namespace {

struct HmacCase {
  Bytes key;
  Bytes data;
  const char* expect;
};

TEST(NativeCrypto, PrfIsHmacSha256Rfc4231) {
  const HmacCase cases[] = {
      {Bytes(20, 0x0b), to_bytes("Hi There"), "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {to_bytes("Jefe"), to_bytes("what do ya want for nothing?"),
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {Bytes(20, 0xaa), Bytes(50, 0xdd), "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"), Bytes(50, 0xcd),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {Bytes(131, 0xaa), to_bytes("Test Using Larger Than Block-Size Key - Hash Key First"),
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {Bytes(131, 0xaa),
       to_bytes("This is a test using a larger than block-size key and a larger than block-size data. The key "
                "needs to be hashed before being used by the HMAC algorithm."),
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
  for (const auto& c : cases) EXPECT_EQ(to_hex(prf(c.key, c.data)), c.expect);
}

TEST(NativeCrypto, PrfPlusMatchesIndependentComputation) {
  Bytes key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  // python: prf+(bytes(range(32)), b"ikestorm prf+ seed", 100)
  const char* expect =
      "ef9c36bde82def8e94074d49809aa910532da60a4841a0744a05ef3e68769995a98ca84b3a61b66b800af8bcf8e5095e"
      "6cbd20541a8f539ebcd8256aba24f5ae9c9e8e084f786268c6d5227fd062d351421965ffb955b0526e6b9fdca6532381"
      "15b50ae2";
  EXPECT_EQ(to_hex(prf_plus(key, to_bytes("ikestorm prf+ seed"), 100)), expect);
  // Prefixes agree (prf+ is a stream), and the 255-block cap of RFC 7296 is enforced.
  EXPECT_EQ(to_hex(prf_plus(key, to_bytes("ikestorm prf+ seed"), 33)), std::string(expect).substr(0, 66));
  EXPECT_EQ(prf_plus(key, to_bytes("s"), 255 * 32).size(), 255u * 32u);
  EXPECT_TRUE(prf_plus(key, to_bytes("s"), 255 * 32 + 1).empty());
}

const Bytes ni(32, 0x11), nr(32, 0x22), gir(32, 0x5a);
constexpr uint64_t spi_i = 0x0102030405060708ULL, spi_r = 0x1112131415161718ULL;

TEST(NativeCrypto, IkeKeysForAesGcm128) {
  auto k = derive_ike_keys(gir, ni, nr, spi_i, spi_r, IkeKeyLengths{.integ = 0, .encr = 20});
  // python, see the header comment
  EXPECT_EQ(to_hex(k.skeyseed()), "1884299bf16f68246f6212724ea76fa9406355cc305c7495bcd26c181d594933");
  EXPECT_EQ(to_hex(k.sk_d()), "8ee6260f93382a12bc92baf1ecbd26f24ccd9e2e280739204d53c3326be71b48");
  EXPECT_TRUE(k.sk_ai().empty());
  EXPECT_TRUE(k.sk_ar().empty());
  EXPECT_EQ(to_hex(k.sk_ei()), "5df3de29b49bd6ebd4d004c40bd09964d2a07b0d");
  EXPECT_EQ(to_hex(k.sk_er()), "bf5f0c45c9fe7d6c27c55f33b9fc71aa50a1338d");
  EXPECT_EQ(to_hex(k.sk_pi()), "30de4f1826ebaae8b6b5fcde7a307a99d8ca7b9871ff82c45697bbed7a06508c");
  EXPECT_EQ(to_hex(k.sk_pr()), "b49762f96d3cc96659670f01a938e2024b72f9cc8625a0aa30ff72a07a58788c");
}

TEST(NativeCrypto, IkeKeysForAesCbc256HmacSha256) {
  auto k = derive_ike_keys(gir, ni, nr, spi_i, spi_r, IkeKeyLengths{.integ = 32, .encr = 32});
  EXPECT_EQ(to_hex(k.sk_ai()), "5df3de29b49bd6ebd4d004c40bd09964d2a07b0dbf5f0c45c9fe7d6c27c55f33");
  EXPECT_EQ(to_hex(k.sk_ar()), "b9fc71aa50a1338d30de4f1826ebaae8b6b5fcde7a307a99d8ca7b9871ff82c4");
  EXPECT_EQ(to_hex(k.sk_ei()), "5697bbed7a06508cb49762f96d3cc96659670f01a938e2024b72f9cc8625a0aa");
  EXPECT_EQ(to_hex(k.sk_er()), "30ff72a07a58788cc6d549025f40083f5a1260de591e5a4d4b56176180d49c81");
}

TEST(NativeCrypto, RekeyedIkeKeysUseTheOldSkD) {
  // python: SKEYSEED = prf(SK_d(old), g^ir | Ni | Nr) with SK_d from IkeKeysForAesGcm128,
  // g^ir = 0x6b*32, Ni = 0x33*32, Nr = 0x44*32, SPIi = 2122..28, SPIr = 3132..38.
  auto old = derive_ike_keys(gir, ni, nr, spi_i, spi_r, IkeKeyLengths{.integ = 0, .encr = 20});
  auto k = derive_rekeyed_ike_keys(old.sk_d(), Bytes(32, 0x6b), Bytes(32, 0x33), Bytes(32, 0x44), 0x2122232425262728ULL,
                                   0x3132333435363738ULL, IkeKeyLengths{.integ = 0, .encr = 20});
  EXPECT_EQ(to_hex(k.skeyseed()), "97c923b9f7026be1e616d3d40136f432382a6d50447cee43cb6b7d36f61c4428");
  EXPECT_EQ(to_hex(k.sk_d()), "4ddb18bd78e6291f6f791e8c4c1719b32a2fa162e7fa2641f82da3eafde95cea");
  EXPECT_EQ(to_hex(k.sk_ei()), "e2eb18c2f305aa0900d60b7aa9e199dbbe2d3815");
  EXPECT_EQ(to_hex(k.sk_pi()), "31396e80beb32b6abe53c41cd7e121cc0dae2f9aa6e4639dbaa333642f95f65d");
}

TEST(NativeCrypto, ChildKeymatAndPskAuth) {
  auto k = derive_ike_keys(gir, ni, nr, spi_i, spi_r, IkeKeyLengths{.integ = 0, .encr = 20});
  auto child = derive_child_keys(k.sk_d(), ni, nr, 20, 0);
  EXPECT_EQ(to_hex(child.encr_i), "668903aaa5c566055700bd528a3258aa4c9f21a0");
  EXPECT_EQ(to_hex(child.encr_r), "2d8133f7c354e960de1fe125d5005c2bdf96a12b");
  EXPECT_TRUE(child.integ_i.empty());
  auto auth = psk_auth(to_bytes("ikestorm-psk"), Bytes(80, 0x99), nr, k.sk_pi(), IdPayload{id_type::fqdn, to_bytes("peer1")});
  EXPECT_EQ(to_hex(auth), "65d5d96ae06209aac827d0ba0458b60e81b47450576ac362c0b965c9d53e4977");
}

TEST(NativeCrypto, X25519Rfc7748) {
  auto alice = DhKeyPair::from_x25519_private(from_hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"));
  auto bob = DhKeyPair::from_x25519_private(from_hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"));
  ASSERT_TRUE(alice.ok()) << alice.error().describe();
  ASSERT_TRUE(bob.ok()) << bob.error().describe();
  EXPECT_EQ(to_hex(alice->public_value()), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob->public_value()), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  auto s1 = alice->shared_secret(bob->public_value());
  auto s2 = bob->shared_secret(alice->public_value());
  ASSERT_TRUE(s1.ok()) << s1.error().describe();
  ASSERT_TRUE(s2.ok()) << s2.error().describe();
  EXPECT_EQ(to_hex(*s1), "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  EXPECT_EQ(*s1, *s2);
}

struct GroupCase {
  uint16_t group;
  size_t public_size;
  size_t secret_size;
};

TEST(NativeCrypto, EveryGroupAgreesWithItself) {
  const GroupCase cases[] = {{31, 32, 32}, {19, 64, 32}, {14, 256, 256}};
  for (const auto& c : cases) {
    auto a = DhKeyPair::generate(c.group);
    auto b = DhKeyPair::generate(c.group);
    ASSERT_TRUE(a.ok()) << c.group << ": " << a.error().describe();
    ASSERT_TRUE(b.ok()) << c.group;
    EXPECT_EQ(a->public_value().size(), c.public_size) << c.group;
    EXPECT_NE(a->public_value(), b->public_value()) << c.group;
    auto s1 = a->shared_secret(b->public_value());
    auto s2 = b->shared_secret(a->public_value());
    ASSERT_TRUE(s1.ok()) << c.group << ": " << s1.error().describe();
    ASSERT_TRUE(s2.ok()) << c.group;
    EXPECT_EQ(s1->size(), c.secret_size) << c.group;
    EXPECT_EQ(*s1, *s2) << c.group;
  }
}

TEST(NativeCrypto, BadPeerValuesAreRejected) {
  auto ec = DhKeyPair::generate(19);
  ASSERT_TRUE(ec.ok());
  Bytes off_curve(64, 0x01);  // (1, 1...) is not on P-256
  EXPECT_FALSE(ec->shared_secret(off_curve).ok());
  EXPECT_FALSE(ec->shared_secret(Bytes(32, 0x01)).ok());  // wrong length
  auto modp = DhKeyPair::generate(14);
  ASSERT_TRUE(modp.ok());
  Bytes one(256, 0);
  one.back() = 1;  // y = 1 gives a trivial secret
  EXPECT_FALSE(modp->shared_secret(one).ok());
  EXPECT_FALSE(DhKeyPair::generate(5).ok());  // modp1536 is not offered
}

TEST(NativeCrypto, AesGcmMcGrewViegaCase4) {
  auto out = aes_gcm_encrypt(
      from_hex("feffe9928665731c6d6a8f9467308308"), from_hex("cafebabefacedbaddecaf888"),
      from_hex("feedfacedeadbeeffeedfacedeadbeefabaddad2"),
      from_hex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
               "49a6b525b16aedf5aa0de657ba637b39"));
  ASSERT_TRUE(out.ok()) << out.error().describe();
  EXPECT_EQ(to_hex(*out),
            "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa05"
            "1ba30b396a0aac973d58e091"
            "5bc94fbc3221a5db94fae95ae7121a47");
}

struct SealCase {
  const char* name;
  SkSuite suite;
  IkeKeyLengths lengths;
  const char* sealed;  // python
};

TEST(NativeCrypto, SealedMessagesMatchAndOpen) {
  const SealCase cases[] = {
      {"aes-gcm-16-128", SkSuite{transform_id::encr_aes_gcm_16, 128, transform_id::integ_none}, {0, 20},
       "010203040506070811121314151617182e20230800000001000000462300002a00010203040506074f77f719c56a76d3"
       "2738256bfa3bf5c6c29c69cc106a4d4b9c78ece9f593"},
      {"aes-cbc-256 + hmac-sha2-256-128",
       SkSuite{transform_id::encr_aes_cbc, 256, transform_id::integ_hmac_sha2_256_128}, {32, 32},
       "010203040506070811121314151617182e202308000000010000005023000034000102030405060708090a0b0c0d0e0f"
       "481c684f63662ee34f61a145c583ed1f0814592529d73628c20df6391f11d5a1"},
  };
  const Bytes inner = from_hex("0000000d020000007065657231");  // IDi fqdn "peer1", last payload
  for (const auto& c : cases) {
    auto k = derive_ike_keys(gir, ni, nr, spi_i, spi_r, c.lengths);
    Header h{.spi_i = spi_i, .spi_r = spi_r, .exchange = ExchangeType::ike_auth, .flags = flags::initiator,
             .message_id = 1};
    Bytes iv(c.suite.iv_size());
    for (size_t i = 0; i < iv.size(); ++i) iv[i] = static_cast<uint8_t>(i);
    auto sealed = seal_message(c.suite, k.sk_ei(), k.sk_ai(), h, PayloadType::idi, inner, iv);
    ASSERT_TRUE(sealed.ok()) << c.name << ": " << sealed.error().describe();
    EXPECT_EQ(to_hex(*sealed), c.sealed) << c.name;

    auto parsed = parse_message(*sealed);
    ASSERT_TRUE(parsed.ok()) << c.name << ": " << parsed.error().describe();
    auto* sk = parsed->find<SkPayload>(PayloadType::sk);
    ASSERT_NE(sk, nullptr) << c.name;
    auto opened = open_message(c.suite, k.sk_ei(), k.sk_ai(), *sealed, *sk);
    ASSERT_TRUE(opened.ok()) << c.name << ": " << opened.error().describe();
    EXPECT_EQ(*opened, inner) << c.name;

    // Any flipped bit, in the header (AAD / MAC input) or the ciphertext, fails the check.
    for (size_t at : {size_t{19}, size_t{30}, sealed->size() - 20, sealed->size() - 1}) {
      Bytes bad = *sealed;
      bad[at] ^= 0x01;
      auto reparsed = parse_message(bad);
      if (!reparsed) continue;  // a flipped header field the parser already refuses
      auto* bad_sk = reparsed->find<SkPayload>(PayloadType::sk);
      ASSERT_NE(bad_sk, nullptr);
      EXPECT_FALSE(open_message(c.suite, k.sk_ei(), k.sk_ai(), bad, *bad_sk).ok()) << c.name << " byte " << at;
    }
    // The responder's keys do not open the initiator's message.
    EXPECT_FALSE(open_message(c.suite, k.sk_er(), k.sk_ar(), *sealed, *sk).ok()) << c.name;
  }
}

TEST(NativeCrypto, NatDetectionHashIsSha1OfSpisAddressPort) {
  // The hash input built by hand: SPIi | SPIr | 198.18.0.1 | port 500.
  EXPECT_EQ(to_hex(nat_detection_hash(spi_i, spi_r, Bytes{198, 18, 0, 1}, 500)),
            to_hex(sha1(from_hex("01020304050607081112131415161718c612000101f4"))));
  // IPv6: the 16-byte address (RFC 7296 2.23), here 2001:2::1 and port 4500.
  const Bytes v6{0x20, 0x01, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  EXPECT_EQ(to_hex(nat_detection_hash(spi_i, spi_r, v6, 4500)),
            to_hex(sha1(from_hex("0102030405060708111213141516171820010002000000000000000000000001" "1194"))));
  EXPECT_EQ(to_hex(sha1(to_bytes("abc"))), "a9993e364706816aba3e25717850c26c9cd0d89d");  // FIPS 180
}

}  // namespace
}  // namespace ist::native
