#pragma once
// Throwaway keys and X.509 certificates with OpenSSL 3 (EVP/X509 APIs), in-process: a run
// makes a CA and up to thousands of leaf certificates in seconds, where spawning the `pki`
// tool per certificate would take minutes.
#include <chrono>
#include <memory>
#include <string>

#include "common/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace ist::charon {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct X509Free {
  void operator()(X509* x) const;
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

enum class KeyAlgorithm { ecdsa_p256, rsa_2048 };

Result<PkeyPtr> generate_key(KeyAlgorithm alg);
// PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").
Result<std::string> private_key_pem(EVP_PKEY* key);

// "C=CH, O=Example, CN=host" (an attribute=value list, no '@'): an identity charon matches
// against a certificate's subject.
bool is_distinguished_name(const std::string& id);

struct CertRequest {
  // Subject CN, also the leaf's SAN (rfc822Name with '@', iPAddress for an address, else
  // dNSName); a distinguished name (is_distinguished_name) is the whole subject, no SAN.
  std::string common_name;
  bool is_ca = false;            // CA: basicConstraints CA:TRUE, keyCertSign; no SAN
  uint64_t serial = 1;
  std::chrono::hours validity{48};  // from one hour ago (clock skew between namespaces: none,
                                    // but charon rejects a notBefore in the future)
};
// Signs `subject_key`'s certificate with `issuer_key` (SHA-256); `issuer_cn` is the issuer
// DN's CN (a CA signs itself with its own key and CN). Returns PEM.
Result<std::string> make_certificate(const CertRequest& req, EVP_PKEY* subject_key,
                                     EVP_PKEY* issuer_key, const std::string& issuer_cn);

// Signs with a CA of the user's (scenario peers.ca_cert / ca_key): the issuer DN is the CA
// certificate's subject, and the authority key id its subject key id.
Result<std::string> make_certificate(const CertRequest& req, EVP_PKEY* subject_key, EVP_PKEY* issuer_key,
                                     X509* issuer_cert);

// A CA of the user's from PEM files. Errors say what is wrong with the file (unreadable, not
// PEM, no certificate or key in it) without its path; check_ca_pair: the key is not the
// certificate's, or the certificate may not issue certificates (no basicConstraints CA:TRUE).
Result<X509Ptr> read_certificate_pem(const std::string& path);
Result<PkeyPtr> read_private_key_pem(const std::string& path);
Status check_ca_pair(X509* cert, EVP_PKEY* key);
Result<std::string> certificate_pem(X509* cert);

}  // namespace ist::charon
