#pragma once
// Throwaway keys and X.509 certificates with OpenSSL 3 (EVP/X509 APIs), in-process: a run
// makes a CA and up to thousands of leaf certificates in seconds, where spawning the `pki`
// tool per certificate would take minutes.
#include <chrono>
#include <memory>
#include <string>

#include "common/result.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace ist::charon {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const;
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

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

}  // namespace ist::charon
