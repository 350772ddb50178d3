#include "charon/x509_maker.hpp"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace ist::charon {

void PkeyFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
void X509Free::operator()(X509* x) const { X509_free(x); }

namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

Error ssl_error(const std::string& what) {
  unsigned long code = ERR_get_error();
  char buf[256] = "no OpenSSL error queued";
  if (code != 0) ERR_error_string_n(code, buf, sizeof(buf));
  ERR_clear_error();
  return Error("OpenSSL " + what + ": " + buf);
}

Result<std::string> bio_text(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  if (len <= 0 || data == nullptr) return ssl_error("BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(len));
}

Status add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return ssl_error(std::string("X509V3_EXT_conf_nid ") + OBJ_nid2sn(nid));
  const int added = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (added != 1) return ssl_error("X509_add_ext");
  return ok();
}

// "C=CH, O=Example, CN=host": attribute=value pairs separated by commas (no escaped commas).
bool set_dn(X509_NAME* name, const std::string& dn) {
  std::size_t start = 0;
  while (start <= dn.size()) {
    std::size_t end = dn.find(',', start);
    if (end == std::string::npos) end = dn.size();
    std::string rdn = dn.substr(start, end - start);
    const auto first = rdn.find_first_not_of(' ');
    rdn = first == std::string::npos ? "" : rdn.substr(first);
    const auto eq = rdn.find('=');
    if (eq == std::string::npos || eq == 0) return false;
    const std::string key = rdn.substr(0, eq), value = rdn.substr(eq + 1);
    if (X509_NAME_add_entry_by_txt(name, key.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0) != 1)
      return false;
    start = end + 1;
  }
  return true;
}

// One certificate: issued by `issuer_cert` when given (its subject is the issuer DN), else by
// the CA named `issuer_cn` (the harness's own throwaway CA, or a self-signed CA itself).
Result<std::string> sign_certificate(const CertRequest& req, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                                     const std::string& issuer_cn, X509* issuer_cert);

}  // namespace

bool is_distinguished_name(const std::string& id) {
  const auto eq = id.find('=');
  return eq != std::string::npos && eq > 0 && id.find('@') == std::string::npos;
}

Result<PkeyPtr> generate_key(KeyAlgorithm alg) {
  EVP_PKEY* key = nullptr;
  switch (alg) {
    case KeyAlgorithm::ecdsa_p256: key = EVP_EC_gen("P-256"); break;
    case KeyAlgorithm::rsa_2048: key = EVP_RSA_gen(2048); break;
  }
  if (key == nullptr) return ssl_error("key generation");
  return PkeyPtr(key);
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return ssl_error("BIO_new");
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return ssl_error("PEM_write_bio_PrivateKey");
  return bio_text(bio.get());
}

Result<std::string> make_certificate(const CertRequest& req, EVP_PKEY* subject_key,
                                     EVP_PKEY* issuer_key, const std::string& issuer_cn) {
  return sign_certificate(req, subject_key, issuer_key, issuer_cn, nullptr);
}

Result<std::string> make_certificate(const CertRequest& req, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                                     X509* issuer_cert) {
  return sign_certificate(req, subject_key, issuer_key, "", issuer_cert);
}

namespace {
std::string file_text_error(const std::string& what) {
  std::string reason = "not PEM";
  if (unsigned long code = ERR_peek_last_error(); code != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    reason += " (" + std::string(buf) + ")";
  }
  ERR_clear_error();
  return what + ": " + reason;
}
}  // namespace

Result<X509Ptr> read_certificate_pem(const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error("cannot be read");
  }
  X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
  if (cert == nullptr) return Error(file_text_error("no PEM certificate in it"));
  return X509Ptr(cert);
}

Result<PkeyPtr> read_private_key_pem(const std::string& path) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    return Error("cannot be read");
  }
  // No passphrase callback: an encrypted key is refused, never prompted for.
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr);
  if (key == nullptr) return Error(file_text_error("no unencrypted PEM private key in it"));
  return PkeyPtr(key);
}

Status check_ca_pair(X509* cert, EVP_PKEY* key) {
  if (X509_check_private_key(cert, key) != 1) {
    ERR_clear_error();
    return Error("the key does not match the CA certificate");
  }
  if (X509_check_ca(cert) != 1) return Error("the certificate is not a CA (it has no basicConstraints CA:TRUE)");
  return ok();
}

Result<std::string> certificate_pem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return ssl_error("BIO_new");
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return ssl_error("PEM_write_bio_X509");
  return bio_text(bio.get());
}

namespace {

Result<std::string> sign_certificate(const CertRequest& req, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                                     const std::string& issuer_cn, X509* issuer_cert) {
  std::unique_ptr<X509, X509Free> cert(X509_new());
  if (!cert) return ssl_error("X509_new");
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1) return ssl_error("X509_set_version");
  if (ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), req.serial) != 1)
    return ssl_error("serial");
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                      static_cast<long>(std::chrono::seconds(req.validity).count())) == nullptr)
    return ssl_error("validity");
  auto set_cn = [](X509_NAME* name, const std::string& cn) {
    if (is_distinguished_name(cn)) return set_dn(name, cn);
    return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>("ikestorm"), -1, -1,
                                      0) == 1 &&
           X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                      0) == 1;
  };
  if (!set_cn(X509_get_subject_name(cert.get()), req.common_name)) return ssl_error("X509_NAME_add_entry_by_txt");
  if (issuer_cert != nullptr ? X509_set_issuer_name(cert.get(), X509_get_subject_name(issuer_cert)) != 1
                             : !set_cn(X509_get_issuer_name(cert.get()), issuer_cn))
    return ssl_error("issuer name");
  if (X509_set_pubkey(cert.get(), subject_key) != 1) return ssl_error("X509_set_pubkey");

  // The issuer context only provides the authority key id; a self-signed CA is its own.
  X509* issuer_ctx = req.is_ca ? cert.get() : issuer_cert;
  if (req.is_ca) {
    IST_TRY(add_extension(cert.get(), issuer_ctx, NID_basic_constraints, "critical,CA:TRUE"));
    IST_TRY(add_extension(cert.get(), issuer_ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
    IST_TRY(add_extension(cert.get(), issuer_ctx, NID_subject_key_identifier, "hash"));
  } else {
    IST_TRY(add_extension(cert.get(), issuer_ctx, NID_basic_constraints, "critical,CA:FALSE"));
    IST_TRY(add_extension(cert.get(), issuer_ctx, NID_key_usage,
                          "critical,digitalSignature,keyEncipherment"));
    // charon matches an FQDN identity against a dNSName, a user@host one against an
    // rfc822Name, an address against an iPAddress, a DN against the subject (no SAN).
    if (!is_distinguished_name(req.common_name)) {
      in6_addr any{};
      const bool ip = ::inet_pton(AF_INET, req.common_name.c_str(), &any) == 1 ||
                      ::inet_pton(AF_INET6, req.common_name.c_str(), &any) == 1;
      const bool user_fqdn = req.common_name.find('@') != std::string::npos;
      const std::string san = (ip ? "IP:" : user_fqdn ? "email:" : "DNS:") + req.common_name;
      IST_TRY(add_extension(cert.get(), issuer_ctx, NID_subject_alt_name, san.c_str()));
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return ssl_error("X509_sign");

  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return ssl_error("BIO_new");
  if (PEM_write_bio_X509(bio.get(), cert.get()) != 1) return ssl_error("PEM_write_bio_X509");
  return bio_text(bio.get());
}

}  // namespace

}  // namespace ist::charon
