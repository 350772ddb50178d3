// Per-run authentication material: certificates that verify against the CA and carry the
// identities charon matches, the vici requests that load them (split per initiator
// daemon), and the ConnSpec changes that use them.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>

#include "charon/auth_material.hpp"
#include "charon/x509_maker.hpp"
#include "common/file_write.hpp"

namespace ist::charon {
namespace {

namespace fs = std::filesystem;

struct X509Del {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDel {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Del>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyDel>;

X509Ptr parse_cert(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509Ptr x(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return x;
}
KeyPtr parse_key(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  KeyPtr k(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return k;
}

// The certificate is signed by the CA, names `id` as SAN dNSName, and matches `key`.
void expect_leaf(const AuthMaterial& m, const PemBlob& cert, const PemBlob& key,
                 const std::string& id, int key_type) {
  auto ca = parse_cert(m.ca_cert.pem);
  auto leaf = parse_cert(cert.pem);
  auto priv = parse_key(key.pem);
  ASSERT_TRUE(ca && leaf && priv);
  EXPECT_EQ(X509_verify(leaf.get(), X509_get0_pubkey(ca.get())), 1) << id;
  EXPECT_EQ(X509_check_host(leaf.get(), id.c_str(), id.size(), X509_CHECK_FLAG_NO_WILDCARDS, nullptr), 1)
      << id;
  EXPECT_EQ(X509_check_private_key(leaf.get(), priv.get()), 1) << id;
  EXPECT_EQ(EVP_PKEY_get_base_id(priv.get()), key_type);
  EXPECT_EQ(X509_check_ca(leaf.get()), 0) << "a leaf must not be a CA";
}

TEST(CharonAuth, ParsesEveryKindAndRefusesOthers) {
  for (AuthKind k : {AuthKind::psk, AuthKind::ecdsa, AuthKind::rsa, AuthKind::eap_mschapv2}) {
    auto r = parse_auth_kind(to_string(k));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, k);
  }
  auto bad = parse_auth_kind("ecdsa384");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().describe().find("psk, ecdsa, rsa or eap-mschapv2"), std::string::npos);
}

TEST(CharonAuth, CertificatesVerifyAndCarryIdentities) {
  struct Case {
    AuthKind kind;
    bool per_peer_rsa;
    int key_type;
    std::size_t keys;
  };
  const Case cases[] = {{AuthKind::ecdsa, false, EVP_PKEY_EC, 3},
                        {AuthKind::rsa, false, EVP_PKEY_RSA, 1},
                        {AuthKind::rsa, true, EVP_PKEY_RSA, 3}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.kind)) + (c.per_peer_rsa ? " per-peer" : ""));
    AuthMaterialOptions o;
    o.kind = c.kind;
    o.peers = 3;
    o.per_peer_rsa_keys = c.per_peer_rsa;
    auto m = make_auth_material(o);
    ASSERT_TRUE(m.ok()) << m.error().describe();
    auto ca = parse_cert(m->ca_cert.pem);
    ASSERT_TRUE(ca);
    EXPECT_EQ(X509_check_ca(ca.get()), 1);
    EXPECT_EQ(X509_verify(ca.get(), X509_get0_pubkey(ca.get())), 1);
    expect_leaf(*m, m->sut_cert, m->sut_key, "sut.ikestorm.test", c.key_type);
    ASSERT_EQ(m->peer_certs.size(), 3u);
    EXPECT_EQ(m->peer_keys.size(), c.keys);
    EXPECT_EQ(m->shared_peer_key(), c.keys == 1);
    for (uint32_t i = 0; i < 3; ++i)
      expect_leaf(*m, m->peer_certs[i], m->peer_key(i), "peer-" + std::to_string(i) + ".ikestorm.test",
                  c.key_type);
    // A certificate must not verify as another peer's identity.
    auto p0 = parse_cert(m->peer_certs[0].pem);
    EXPECT_NE(X509_check_host(p0.get(), "peer-1.ikestorm.test", 0, 0, nullptr), 1);
    EXPECT_TRUE(m->eap_secrets.empty());
  }
}

TEST(CharonAuth, DistinguishedNameAndAddressIdentities) {
  // A gateway config may name identities as a subject DN or an address (sut.config).
  AuthMaterialOptions o;
  o.kind = AuthKind::ecdsa;
  o.peers = 2;
  o.sut_id = "192.0.2.1";
  o.peer_id = [](uint32_t i) { return "C=CH, O=Example Org, OU=Research, CN=peer-" + std::to_string(i); };
  auto m = make_auth_material(o);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  auto sut = parse_cert(m->sut_cert.pem);
  ASSERT_TRUE(sut);
  EXPECT_EQ(X509_check_ip_asc(sut.get(), "192.0.2.1", 0), 1);
  auto peer = parse_cert(m->peer_certs[1].pem);
  ASSERT_TRUE(peer);
  char subject[256] = {};
  X509_NAME_oneline(X509_get_subject_name(peer.get()), subject, sizeof subject);
  EXPECT_STREQ(subject, "/C=CH/O=Example Org/OU=Research/CN=peer-1");
  EXPECT_EQ(X509_get_ext_by_NID(peer.get(), NID_subject_alt_name, -1), -1);  // the DN is the identity
  EXPECT_EQ(X509_verify(peer.get(), X509_get0_pubkey(parse_cert(m->ca_cert.pem).get())), 1);
}

TEST(CharonAuth, PskMakesIdentitiesOnlyAndEapMakesSecrets) {
  AuthMaterialOptions o;
  o.kind = AuthKind::psk;
  o.peers = 2;
  o.peer_id = [](uint32_t i) { return "client" + std::to_string(i) + "@example.org"; };
  auto psk = make_auth_material(o);
  ASSERT_TRUE(psk.ok());
  EXPECT_EQ(psk->peer_ids, (std::vector<std::string>{"client0@example.org", "client1@example.org"}));
  EXPECT_TRUE(psk->ca_cert.pem.empty());
  EXPECT_TRUE(sut_credentials(*psk).empty());
  EXPECT_TRUE(peer_credentials(*psk, {0, 1}).empty());

  o.kind = AuthKind::eap_mschapv2;
  auto eap = make_auth_material(o);
  ASSERT_TRUE(eap.ok());
  ASSERT_EQ(eap->eap_secrets.size(), 2u);
  EXPECT_EQ(eap->eap_secrets[0].size(), 32u);
  EXPECT_NE(eap->eap_secrets[0], eap->eap_secrets[1]);
  EXPECT_TRUE(eap->peer_certs.empty());
  expect_leaf(*eap, eap->sut_cert, eap->sut_key, "sut.ikestorm.test", EVP_PKEY_EC);
}

// command + the values that identify a request, for compact comparisons.
std::vector<std::string> summary(const std::vector<ViciRequest>& reqs) {
  std::vector<std::string> out;
  for (const auto& r : reqs) {
    std::string s = r.command + " " + r.body.get_or("type", "") + " " + r.body.get_or("flag", "");
    if (auto* owners = r.body.find_list("owners"); owners && !owners->empty()) s += (*owners)[0];
    out.push_back(s);
  }
  return out;
}

TEST(CharonAuth, CredentialsSplitPerDaemon) {
  AuthMaterialOptions o;
  o.kind = AuthKind::ecdsa;
  o.peers = 5;
  auto m = make_auth_material(o);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(summary(sut_credentials(*m)),
            (std::vector<std::string>{"load-cert X509 CA", "load-key any "}));
  auto d0 = daemon_peer_credentials(*m, 0, 2);  // peers 0, 2, 4
  ASSERT_EQ(d0.size(), 4u);
  EXPECT_EQ(d0[0].body.get_or("data", ""), m->ca_cert.pem);
  EXPECT_EQ(d0[1].body.get_or("data", ""), m->peer_keys[0].pem);
  EXPECT_EQ(d0[2].body.get_or("data", ""), m->peer_keys[2].pem);
  EXPECT_EQ(d0[3].body.get_or("data", ""), m->peer_keys[4].pem);
  EXPECT_EQ(daemon_peer_credentials(*m, 1, 2).size(), 3u);  // CA + peers 1, 3

  o.kind = AuthKind::rsa;  // one shared key: sent once per daemon
  auto rsa = make_auth_material(o);
  ASSERT_TRUE(rsa.ok());
  EXPECT_EQ(summary(daemon_peer_credentials(*rsa, 1, 2)),
            (std::vector<std::string>{"load-cert X509 CA", "load-key any "}));

  o.kind = AuthKind::eap_mschapv2;
  auto eap = make_auth_material(o);
  ASSERT_TRUE(eap.ok());
  auto sut = summary(sut_credentials(*eap));
  ASSERT_EQ(sut.size(), 7u);
  EXPECT_EQ(sut[2], "load-shared EAP peer-0.ikestorm.test");
  EXPECT_EQ(sut[6], "load-shared EAP peer-4.ikestorm.test");
  EXPECT_EQ(summary(daemon_peer_credentials(*eap, 1, 2)),
            (std::vector<std::string>{"load-cert X509 CA", "load-shared EAP peer-1.ikestorm.test",
                                      "load-shared EAP peer-3.ikestorm.test"}));
  EXPECT_EQ(daemon_peer_credentials(*eap, 1, 2)[1].body.get_or("data", ""), eap->eap_secrets[1]);
}

ConnSpec base_conn(const std::string& name) {
  ConnSpec c;
  c.name = name;
  c.local_ts = {"198.19.128.1/32"};
  c.remote_ts = {"198.18.255.0/24"};
  return c;
}

TEST(CharonAuth, ConnSpecsUseTheMaterial) {
  struct Case {
    AuthKind kind;
    const char* sut_remote_auth;
    const char* peer_local_auth;
  };
  const Case cases[] = {{AuthKind::ecdsa, "pubkey", "pubkey"},
                        {AuthKind::rsa, "pubkey", "pubkey"},
                        {AuthKind::eap_mschapv2, "eap-mschapv2", "eap-mschapv2"}};
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.kind)));
    AuthMaterialOptions o;
    o.kind = c.kind;
    o.peers = 2;
    auto m = make_auth_material(o);
    ASSERT_TRUE(m.ok());
    ConnSpec sut = base_conn("sut");
    ASSERT_TRUE(apply_sut_auth(sut, *m).ok());
    auto sm = to_load_conn(sut);
    ASSERT_TRUE(sm.ok()) << sm.error().describe();
    const auto* local = sm->find_section("sut")->find_section("local");
    EXPECT_EQ(local->get_or("auth", ""), "pubkey");
    EXPECT_EQ(local->get_or("id", ""), "sut.ikestorm.test");
    EXPECT_EQ(sm->find_section("sut")->get_or("send_cert", ""), "always");
    ASSERT_NE(local->find_list("certs"), nullptr);
    EXPECT_EQ(local->find_list("certs")->at(0), m->sut_cert.pem);
    const auto* remote = sm->find_section("sut")->find_section("remote");
    EXPECT_EQ(remote->get_or("auth", ""), c.sut_remote_auth);
    EXPECT_EQ(remote->get_or("eap_id", "-"), c.kind == AuthKind::eap_mschapv2 ? "%any" : "-");

    ConnSpec peer = base_conn("p1");
    ASSERT_TRUE(apply_peer_auth(peer, *m, 1).ok());
    auto pm = to_load_conn(peer);
    ASSERT_TRUE(pm.ok()) << pm.error().describe();
    const auto* plocal = pm->find_section("p1")->find_section("local");
    EXPECT_EQ(plocal->get_or("auth", ""), c.peer_local_auth);
    EXPECT_EQ(plocal->get_or("id", ""), "peer-1.ikestorm.test");
    if (c.kind == AuthKind::eap_mschapv2) {
      EXPECT_EQ(plocal->get_or("eap_id", ""), "peer-1.ikestorm.test");
      EXPECT_EQ(plocal->find_list("certs"), nullptr);
    } else {
      EXPECT_EQ(plocal->find_list("certs")->at(0), m->peer_certs[1].pem);
    }
    EXPECT_EQ(pm->find_section("p1")->find_section("remote")->get_or("id", ""), "sut.ikestorm.test");
    EXPECT_FALSE(apply_peer_auth(peer, *m, 2).ok()) << "only 2 peers were made";

    // swanctl.conf names the certificate file instead of embedding the PEM.
    auto text = render_swanctl_conf({sut}, {});
    ASSERT_TRUE(text.ok());
    EXPECT_NE(text->find("certs = x509/sut.pem"), std::string::npos) << *text;
    EXPECT_EQ(text->find("BEGIN CERTIFICATE"), std::string::npos);
  }
}

TEST(CharonAuth, ConnValidationForCertificatesAndEap) {
  ConnSpec c = base_conn("x");
  c.local_cert = PemBlob{"x509/a.pem", "-----BEGIN CERTIFICATE-----\nAA\n-----END CERTIFICATE-----\n"};
  EXPECT_NE(validate(c).error().describe().find("only used with local auth pubkey"), std::string::npos);
  c.local_auth = AuthMethod::pubkey;
  EXPECT_TRUE(validate(c).ok());
  c.local_cert->pem = "not a certificate";
  EXPECT_NE(validate(c).error().describe().find("not a PEM certificate"), std::string::npos);
  c = base_conn("x");
  c.local_eap_id = "me";
  EXPECT_NE(validate(c).error().describe().find("local_eap_id needs"), std::string::npos);
  c = base_conn("x");
  c.remote_eap_id = "%any";
  EXPECT_NE(validate(c).error().describe().find("remote_eap_id needs"), std::string::npos);
  c.remote_auth = AuthMethod::eap_mschapv2;
  EXPECT_TRUE(validate(c).ok());
}

// A CA of the user's (scenario peers.ca_cert / ca_key): peer certificates issued from it,
// its subject as their issuer, no SUT certificate; a key that is not the CA's is refused.
TEST(CharonAuth, PeerCertificatesFromTheUsersCa) {
  char tmpl[] = "/tmp/ist-user-ca-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  AuthMaterialOptions made;  // stands in for a CA the user made with pki or openssl
  made.kind = AuthKind::ecdsa;
  made.dir = dir;
  ASSERT_TRUE(make_auth_material(made).ok());
  AuthMaterialOptions o;
  o.kind = AuthKind::ecdsa;
  o.peers = 2;
  o.peer_id = [](uint32_t i) { return "peer-" + std::to_string(i) + "@example.org"; };
  o.ca_cert_file = dir + "/x509ca/ca.pem";
  o.ca_key_file = dir + "/private/sut.key";  // a key, but not the CA's
  auto wrong = make_auth_material(o);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().describe().find("the key does not match the CA certificate"), std::string::npos);
  o.ca_cert_file = dir + "/x509/sut.pem";  // its own key: a pair, but no CA
  auto leaf = make_auth_material(o);
  ASSERT_FALSE(leaf.ok());
  EXPECT_NE(leaf.error().describe().find("is not a CA"), std::string::npos) << leaf.error().describe();
  o.ca_cert_file = dir + "/nonexistent.pem";
  auto gone = make_auth_material(o);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.error().describe().find("nonexistent.pem: cannot be read"), std::string::npos);

  // A real CA with a DN of several attributes: the issuer of the peers' certificates.
  auto key = generate_key(KeyAlgorithm::ecdsa_p256);
  ASSERT_TRUE(key.ok());
  const std::string dn = "C=CH, O=ikestorm tests, CN=User CA";
  auto ca_pem = make_certificate(CertRequest{dn, true, 7}, key->get(), key->get(), dn);
  ASSERT_TRUE(ca_pem.ok());
  auto key_pem = private_key_pem(key->get());
  ASSERT_TRUE(key_pem.ok());
  ASSERT_TRUE(write_file_atomic(dir + "/user-ca.pem", *ca_pem, 0644).ok());
  ASSERT_TRUE(write_file_atomic(dir + "/user-ca.key", *key_pem, 0600).ok());
  o.ca_cert_file = dir + "/user-ca.pem";
  o.ca_key_file = dir + "/user-ca.key";
  auto m = make_auth_material(o);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  EXPECT_EQ(m->ca_cert.pem, *ca_pem);
  EXPECT_TRUE(m->sut_cert.pem.empty());  // the gateway brings its own
  auto ca = parse_cert(m->ca_cert.pem);
  for (uint32_t i = 0; i < 2; ++i) {
    auto peer = parse_cert(m->peer_certs[i].pem);
    ASSERT_TRUE(peer);
    EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(peer.get()), X509_get_subject_name(ca.get())), 0);
    EXPECT_EQ(X509_verify(peer.get(), X509_get0_pubkey(ca.get())), 1);
    const std::string id = "peer-" + std::to_string(i) + "@example.org";
    EXPECT_EQ(X509_check_email(peer.get(), id.c_str(), id.size(), 0), 1) << id;
  }
  fs::remove_all(dir);
}

TEST(CharonAuth, WritesPemFilesButNoSecrets) {
  char tmpl[] = "/tmp/ist-auth-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  AuthMaterialOptions o;
  o.kind = AuthKind::ecdsa;
  o.peers = 2;
  o.dir = dir;
  // Keys are created 0600 by open(): private even when the umask would allow more.
  const mode_t old_umask = ::umask(0);
  auto m = make_auth_material(o);
  ::umask(old_umask);
  ASSERT_TRUE(m.ok()) << m.error().describe();
  for (const char* f : {"x509ca/ca.pem", "x509/sut.pem", "private/sut.key", "x509/peer-0.pem",
                        "x509/peer-1.pem", "private/peer-1.key"})
    EXPECT_TRUE(fs::exists(dir + "/" + f)) << f;
  for (const char* key : {"private/sut.key", "private/peer-0.key", "private/peer-1.key"})
    EXPECT_EQ(fs::status(dir + "/" + key).permissions(), fs::perms::owner_read | fs::perms::owner_write) << key;
  EXPECT_EQ(fs::status(dir + "/x509/sut.pem").permissions() & fs::perms::others_read, fs::perms::others_read);
  EXPECT_GT(m->generate_seconds, 0.0);
  o.kind = AuthKind::eap_mschapv2;
  o.dir = dir + "/eap";
  ASSERT_TRUE(make_auth_material(o).ok());
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir + "/eap"))
    if (e.is_regular_file()) ++files;
  EXPECT_EQ(files, 3u);  // CA, SUT cert and key; the EAP secrets stay in memory
  fs::remove_all(dir);
}

}  // namespace
}  // namespace ist::charon
