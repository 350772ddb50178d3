#include "charon/auth_material.hpp"

#include <openssl/rand.h>

#include <filesystem>

#include "charon/x509_maker.hpp"
#include "common/file_write.hpp"
#include "common/hex.hpp"

namespace ist::charon {

std::string_view to_string(AuthKind k) {
  switch (k) {
    case AuthKind::psk: return "psk";
    case AuthKind::ecdsa: return "ecdsa";
    case AuthKind::rsa: return "rsa";
    case AuthKind::eap_mschapv2: return "eap-mschapv2";
  }
  return "?";
}

Result<AuthKind> parse_auth_kind(std::string_view name) {
  for (AuthKind k : {AuthKind::psk, AuthKind::ecdsa, AuthKind::rsa, AuthKind::eap_mschapv2})
    if (name == to_string(k)) return k;
  return Error("unknown authentication '" + std::string(name) +
               "' (psk, ecdsa, rsa or eap-mschapv2)");
}

std::vector<std::string> auth_extra_plugins(AuthKind kind) {
  switch (kind) {
    case AuthKind::psk: return {};
    case AuthKind::ecdsa:
    case AuthKind::rsa: return auth_plugins(AuthPlugins::pubkey);
    case AuthKind::eap_mschapv2: {
      // The SUT proves itself with a certificate; the peers verify it.
      auto list = auth_plugins(AuthPlugins::pubkey);
      for (auto& p : auth_plugins(AuthPlugins::eap_mschapv2)) list.push_back(p);
      return list;
    }
  }
  return {};
}

std::string peer_identity(uint32_t peer) { return "peer-" + std::to_string(peer) + ".ikestorm.test"; }

namespace {

namespace fs = std::filesystem;

Result<std::string> random_secret() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof(raw)) != 1) return Error("OpenSSL RAND_bytes failed");
  return to_hex(raw);
}

Status write_blob(const std::string& dir, const PemBlob& b) {
  if (dir.empty() || b.file.empty()) return ok();
  const fs::path path = fs::path(dir) / b.file;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return Error("cannot create " + path.parent_path().string() + ": " + ec.message());
  // Keys are created 0600 by open() itself: never readable by others, whatever the umask.
  const bool private_key = b.file.starts_with("private/");
  return write_file_atomic(path.string(), b.pem, private_key ? 0600 : 0644);
}

// A key and its certificate, signed by the CA.
struct Leaf {
  PemBlob cert, key;
};

}  // namespace

Result<AuthMaterial> make_auth_material(const AuthMaterialOptions& o) {
  const auto started = std::chrono::steady_clock::now();
  AuthMaterial m;
  m.kind = o.kind;
  m.sut_id = o.sut_id;
  m.peer_ids.reserve(o.peers);
  for (uint32_t i = 0; i < o.peers; ++i) m.peer_ids.push_back(o.peer_id ? o.peer_id(i) : peer_identity(i));
  if (o.kind == AuthKind::psk) return m;

  // eap-mschapv2: the SUT's certificate is ECDSA (cheap; the MSCHAPv2 exchange is the cost).
  const KeyAlgorithm alg = o.kind == AuthKind::rsa ? KeyAlgorithm::rsa_2048 : KeyAlgorithm::ecdsa_p256;
  const std::string ca_cn = "ikestorm throwaway CA";
  const bool user_ca = !o.ca_cert_file.empty();
  PkeyPtr ca_key;
  X509Ptr ca_cert;
  // Serial numbers from the clock when the CA is the user's: certificates of earlier runs
  // from the same CA keep theirs.
  uint64_t serial = user_ca ? static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) : 1;
  if (user_ca) {
    auto cert = read_certificate_pem(o.ca_cert_file);
    if (!cert) return Error(o.ca_cert_file + ": " + cert.error().message);
    auto key = read_private_key_pem(o.ca_key_file);
    if (!key) return Error(o.ca_key_file + ": " + key.error().message);
    IST_TRY(check_ca_pair(cert->get(), key->get()));
    ca_cert = std::move(*cert);
    ca_key = std::move(*key);
    IST_TRY_ASSIGN(std::string ca_pem, certificate_pem(ca_cert.get()));
    m.ca_cert = {"x509ca/ca.pem", std::move(ca_pem)};
  } else {
    IST_TRY_ASSIGN(ca_key, generate_key(alg));
    CertRequest ca_req{ca_cn, true, serial++, o.validity};
    IST_TRY_ASSIGN(std::string ca_pem, make_certificate(ca_req, ca_key.get(), ca_key.get(), ca_cn));
    m.ca_cert = {"x509ca/ca.pem", std::move(ca_pem)};
  }

  auto leaf_cert = [&](const std::string& cn, EVP_PKEY* key) -> Result<std::string> {
    CertRequest req{cn, false, serial++, o.validity};
    return user_ca ? make_certificate(req, key, ca_key.get(), ca_cert.get()) : make_certificate(req, key, ca_key.get(), ca_cn);
  };

  if (user_ca) {
    // The gateway proves itself with its own certificate.
  } else {
    IST_TRY_ASSIGN(PkeyPtr sut_key, generate_key(alg));
    IST_TRY_ASSIGN(std::string sut_cert, leaf_cert(o.sut_id, sut_key.get()));
    IST_TRY_ASSIGN(std::string sut_key_pem, private_key_pem(sut_key.get()));
    m.sut_cert = {"x509/sut.pem", std::move(sut_cert)};
    m.sut_key = {"private/sut.key", std::move(sut_key_pem)};
  }

  if (o.kind == AuthKind::eap_mschapv2) {
    m.eap_secrets.reserve(o.peers);
    for (uint32_t i = 0; i < o.peers; ++i) {
      IST_TRY_ASSIGN(std::string s, random_secret());
      m.eap_secrets.push_back(std::move(s));
    }
  } else {
    const bool shared = o.kind == AuthKind::rsa && !o.per_peer_rsa_keys;
    PkeyPtr shared_key;
    if (shared) {
      IST_TRY_ASSIGN(shared_key, generate_key(alg));
      IST_TRY_ASSIGN(std::string pem, private_key_pem(shared_key.get()));
      m.peer_keys.push_back({"private/peers.key", std::move(pem)});
    }
    m.peer_certs.reserve(o.peers);
    for (uint32_t i = 0; i < o.peers; ++i) {
      PkeyPtr own;
      EVP_PKEY* key = shared_key.get();
      if (!shared) {
        IST_TRY_ASSIGN(own, generate_key(alg));
        key = own.get();
        IST_TRY_ASSIGN(std::string pem, private_key_pem(key));
        m.peer_keys.push_back({"private/peer-" + std::to_string(i) + ".key", std::move(pem)});
      }
      IST_TRY_ASSIGN(std::string cert, leaf_cert(m.peer_ids[i], key));
      m.peer_certs.push_back({"x509/peer-" + std::to_string(i) + ".pem", std::move(cert)});
    }
  }

  if (!o.dir.empty()) {
    for (const PemBlob* b : {&m.ca_cert, &m.sut_cert, &m.sut_key}) IST_TRY(write_blob(o.dir, *b));
    for (const auto& b : m.peer_certs) IST_TRY(write_blob(o.dir, b));
    for (const auto& b : m.peer_keys) IST_TRY(write_blob(o.dir, b));
  }
  m.generate_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return m;
}

namespace {

ViciRequest load_ca(const AuthMaterial& m) {
  ViciRequest r{"load-cert", {}};
  r.body.set("type", "X509").set("flag", "CA").set("data", m.ca_cert.pem);
  return r;
}

ViciRequest load_key(const PemBlob& key) {
  // "any": the key is PKCS#8, which names its own algorithm.
  ViciRequest r{"load-key", {}};
  r.body.set("type", "any").set("data", key.pem);
  return r;
}

ViciRequest load_eap(const AuthMaterial& m, uint32_t peer) {
  ViciRequest r{"load-shared", {}};
  r.body.set("id", "eap-peer-" + std::to_string(peer))
      .set("type", "EAP")
      .set("data", m.eap_secrets[peer])
      .list("owners", {m.peer_ids[peer]});
  return r;
}

}  // namespace

std::vector<ViciRequest> sut_credentials(const AuthMaterial& m) {
  std::vector<ViciRequest> out;
  if (m.kind == AuthKind::psk) return out;
  out.push_back(load_ca(m));
  out.push_back(load_key(m.sut_key));
  if (m.kind == AuthKind::eap_mschapv2)
    for (uint32_t i = 0; i < m.eap_secrets.size(); ++i) out.push_back(load_eap(m, i));
  return out;
}

std::vector<ViciRequest> peer_credentials(const AuthMaterial& m, const std::vector<uint32_t>& peers) {
  std::vector<ViciRequest> out;
  if (m.kind == AuthKind::psk) return out;
  out.push_back(load_ca(m));
  bool shared_sent = false;
  for (uint32_t p : peers) {
    if (m.kind == AuthKind::eap_mschapv2) {
      if (p < m.eap_secrets.size()) out.push_back(load_eap(m, p));
      continue;
    }
    if (p >= m.peer_certs.size()) continue;
    if (m.shared_peer_key()) {
      if (!shared_sent) out.push_back(load_key(m.peer_keys[0]));
      shared_sent = true;
    } else {
      out.push_back(load_key(m.peer_keys[p]));
    }
  }
  return out;
}

std::vector<ViciRequest> daemon_peer_credentials(const AuthMaterial& m, uint32_t daemon,
                                                 uint32_t daemons) {
  std::vector<uint32_t> peers;
  const uint32_t n = static_cast<uint32_t>(m.peer_ids.size());
  for (uint32_t p = daemon; daemons > 0 && p < n; p += daemons) peers.push_back(p);
  return peer_credentials(m, peers);
}

Status apply_sut_auth(ConnSpec& c, const AuthMaterial& m) {
  if (m.kind == AuthKind::psk) return ok();
  if (m.sut_cert.pem.empty()) return Error("auth material has no SUT certificate");
  c.local_auth = AuthMethod::pubkey;
  c.local_cert = m.sut_cert;
  c.local_id = m.sut_id;
  if (m.kind == AuthKind::eap_mschapv2) {
    c.remote_auth = AuthMethod::eap_mschapv2;
    c.remote_eap_id = "%any";
  } else {
    c.remote_auth = AuthMethod::pubkey;
  }
  return ok();
}

Status apply_peer_auth(ConnSpec& c, const AuthMaterial& m, uint32_t peer) {
  if (m.kind == AuthKind::psk) return ok();
  if (peer >= m.peer_ids.size())
    return Error("peer " + std::to_string(peer) + " has no auth material (" +
                 std::to_string(m.peer_ids.size()) + " peers made)");
  c.local_id = m.peer_ids[peer];
  c.remote_id = m.sut_id;
  c.remote_auth = AuthMethod::pubkey;
  if (m.kind == AuthKind::eap_mschapv2) {
    c.local_auth = AuthMethod::eap_mschapv2;
    c.local_eap_id = m.peer_ids[peer];
    c.local_cert.reset();
  } else {
    c.local_auth = AuthMethod::pubkey;
    c.local_cert = m.peer_certs[peer];
  }
  return ok();
}

}  // namespace ist::charon
