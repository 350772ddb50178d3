#include "ike/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/dh.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include <string>

namespace ist::native {

namespace {

std::string openssl_error(const char* what) {
  unsigned long e = ERR_get_error();
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return std::string(what) + ": " + buf;
}

// HMAC via EVP_MAC; the fetched algorithm is shared (fetching is the expensive part).
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

// A context keyed per call but initialised with the digest once per thread, then duplicated.
EVP_MAC_CTX* hmac_sha256_template() {
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx = [] {
    std::unique_ptr<EVP_MAC_CTX, MacCtxFree> c(EVP_MAC_CTX_new(hmac_algorithm()));
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                           OSSL_PARAM_construct_end()};
    EVP_MAC_CTX_set_params(c.get(), params);
    return c;
  }();
  return ctx.get();
}

}  // namespace

Bytes prf(ByteView key, ByteView data) {
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_dup(hmac_sha256_template()));
  Bytes out(prf_size);
  size_t len = 0;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const uint8_t empty = 0;
  if (!ctx || !EVP_MAC_init(ctx.get(), key.empty() ? &empty : key.data(), key.size(), nullptr) ||
      !EVP_MAC_update(ctx.get(), data.data(), data.size()) ||
      !EVP_MAC_final(ctx.get(), out.data(), &len, out.size()) || len != prf_size)
    return {};  // only on OpenSSL failure (allocation); callers see an empty key and fail
  return out;
}

Bytes hmac_sha256_128(ByteView key, ByteView data) {
  Bytes full = prf(key, data);
  full.resize(16);
  return full;
}

const evp_cipher_st* aes_cipher(bool gcm, size_t key_bytes) {
  switch (key_bytes) {
    case 16: return gcm ? EVP_aes_128_gcm() : EVP_aes_128_cbc();
    case 24: return gcm ? EVP_aes_192_gcm() : EVP_aes_192_cbc();
    case 32: return gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc();
    default: return nullptr;
  }
}

Bytes prf_plus(ByteView key, ByteView seed, size_t length) {
  if (length > 255 * prf_size) return {};
  Bytes out;
  out.reserve(length + prf_size);
  Bytes t;
  for (uint8_t n = 1; out.size() < length; ++n) {
    Bytes input = t;
    put_bytes(input, seed);
    input.push_back(n);
    t = prf(key, input);
    put_bytes(out, t);
  }
  out.resize(length);
  return out;
}

Result<Bytes> random_bytes(size_t n) {
  Bytes out(n);
  if (n > 0 && RAND_bytes(out.data(), static_cast<int>(n)) != 1) return Error(openssl_error("RAND_bytes"));
  return out;
}

Bytes sha1(ByteView data) {
  Bytes out(20);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha1(), nullptr);
  return out;
}

Bytes nat_detection_hash(uint64_t spi_i, uint64_t spi_r, ByteView ip, uint16_t port) {
  Bytes in;
  put_u64(in, spi_i);
  put_u64(in, spi_r);
  put_bytes(in, ip);
  put_u16(in, port);
  return sha1(in);
}

namespace {

IkeKeys split_ike_keys(Bytes skeyseed, ByteView ni, ByteView nr, uint64_t spi_i, uint64_t spi_r,
                       IkeKeyLengths lengths) {
  Bytes seed = concat({ni, nr});
  put_u64(seed, spi_i);
  put_u64(seed, spi_r);
  size_t total = 3 * prf_size + 2 * lengths.integ + 2 * lengths.encr;
  Bytes block = std::move(skeyseed);
  block.reserve(block.size() + total);
  put_bytes(block, prf_plus(ByteView(block), seed, total));
  return IkeKeys(std::move(block), lengths.integ, lengths.encr);
}

}  // namespace

IkeKeys::IkeKeys(Bytes block, size_t integ, size_t encr)
    : buf_(std::move(block)), integ_(static_cast<uint8_t>(integ)), encr_(static_cast<uint8_t>(encr)), auth_(true) {}

void IkeKeys::forget_auth_keys() {
  if (!auth_) return;
  const size_t keep = prf_size + 2 * size_t{integ_} + 2 * size_t{encr_};
  Bytes kept;
  if (buf_.size() >= prf_size + keep) kept.assign(buf_.begin() + prf_size, buf_.begin() + static_cast<std::ptrdiff_t>(prf_size + keep));
  buf_ = std::move(kept);  // an exact-size block: the old one is freed
  auth_ = false;
}

IkeKeys derive_ike_keys(ByteView shared_secret, ByteView ni, ByteView nr, uint64_t spi_i, uint64_t spi_r,
                        IkeKeyLengths lengths) {
  return split_ike_keys(prf(concat({ni, nr}), shared_secret), ni, nr, spi_i, spi_r, lengths);
}

IkeKeys derive_rekeyed_ike_keys(ByteView old_sk_d, ByteView shared_secret, ByteView ni, ByteView nr,
                                uint64_t spi_i, uint64_t spi_r, IkeKeyLengths lengths) {
  return split_ike_keys(prf(old_sk_d, concat({shared_secret, ni, nr})), ni, nr, spi_i, spi_r, lengths);
}

ChildKeys derive_child_keys(ByteView sk_d, ByteView ni, ByteView nr, size_t encr_len, size_t integ_len,
                            ByteView new_shared_secret) {
  Bytes seed = concat({new_shared_secret, ni, nr});
  Bytes km = prf_plus(sk_d, seed, 2 * (encr_len + integ_len));
  ChildKeys k;
  auto it = km.begin();
  auto take = [&](size_t n) {
    Bytes b(it, it + static_cast<std::ptrdiff_t>(n));
    it += static_cast<std::ptrdiff_t>(n);
    return b;
  };
  k.encr_i = take(encr_len);
  k.integ_i = take(integ_len);
  k.encr_r = take(encr_len);
  k.integ_r = take(integ_len);
  return k;
}

Bytes psk_auth(ByteView psk, ByteView real_message, ByteView peer_nonce, ByteView sk_p, const IdPayload& id) {
  Bytes rest_of_id;
  put_u32(rest_of_id, static_cast<uint32_t>(id.id_type) << 24);
  put_bytes(rest_of_id, id.data);
  Bytes signed_octets = concat({real_message, peer_nonce, prf(sk_p, rest_of_id)});
  static const Bytes key_pad = to_bytes("Key Pad for IKEv2");
  return prf(prf(psk, key_pad), signed_octets);
}

// ---------------------------------------------------------------------------------------
// Diffie-Hellman

bool dh_group_supported(uint16_t group) { return dh_public_size(group) != 0; }

size_t dh_public_size(uint16_t group) {
  switch (group) {
    case transform_id::dh_modp2048: return 256;
    case transform_id::dh_ecp256: return 64;
    case transform_id::dh_x25519: return 32;
    default: return 0;
  }
}

void DhKeyPair::PkeyFree::operator()(evp_pkey_st* p) const { EVP_PKEY_free(p); }

DhKeyPair::DhKeyPair(uint16_t group, evp_pkey_st* key) : group_(group), key_(key) {}
DhKeyPair::~DhKeyPair() = default;

namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

Result<Bytes> public_value_of(uint16_t group, EVP_PKEY* key) {
  switch (group) {
    case transform_id::dh_x25519: {
      Bytes out(32);
      size_t len = out.size();
      if (!EVP_PKEY_get_raw_public_key(key, out.data(), &len) || len != 32)
        return Error(openssl_error("x25519 public key"));
      return out;
    }
    case transform_id::dh_ecp256: {
      uint8_t buf[65];
      size_t len = 0;
      if (!EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf, &len) ||
          len != 65 || buf[0] != 0x04)
        return Error(openssl_error("ecp256 public key"));
      return Bytes(buf + 1, buf + 65);  // RFC 5903: x | y without the point format octet
    }
    case transform_id::dh_modp2048: {
      BIGNUM* pub = nullptr;
      if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PUB_KEY, &pub)) return Error(openssl_error("modp2048 public key"));
      Bytes out(256);
      int n = BN_bn2binpad(pub, out.data(), static_cast<int>(out.size()));
      BN_free(pub);
      if (n != 256) return Error("modp2048 public key longer than the modulus");
      return out;
    }
    default:
      return Error("unsupported DH group " + std::to_string(group));
  }
}

// Builds an EVP_PKEY holding only the peer's public value, in the group's own format.
Result<PkeyPtr> peer_key(uint16_t group, ByteView peer) {
  if (peer.size() != dh_public_size(group))
    return Error("KE data of " + std::to_string(peer.size()) + " bytes for DH group " + std::to_string(group) +
                 " (need " + std::to_string(dh_public_size(group)) + ")");
  if (group == transform_id::dh_x25519) {
    PkeyPtr k(EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(), peer.size()), EVP_PKEY_free);
    if (!k) return Error(openssl_error("x25519 peer key"));
    return k;
  }
  std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)> bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(nullptr, BN_free);
  Bytes point;
  const char* type = nullptr;
  if (group == transform_id::dh_ecp256) {
    type = "EC";
    point.push_back(0x04);
    put_bytes(point, peer);
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "P-256", 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  } else {
    type = "DH";
    bn.reset(BN_bin2bn(peer.data(), static_cast<int>(peer.size()), nullptr));
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "modp_2048", 0);
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, bn.get());
  }
  std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)> params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) <= 0)
    return Error(openssl_error("DH peer key"));
  PkeyPtr k(raw, EVP_PKEY_free);
  // Reject points off the curve and out-of-range DH values before deriving.
  PkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, k.get(), nullptr), EVP_PKEY_CTX_free);
  if (!check || EVP_PKEY_public_check(check.get()) != 1) return Error(openssl_error("DH peer public value invalid"));
  return k;
}

}  // namespace

Result<DhKeyPair> DhKeyPair::generate(uint16_t group) {
  EVP_PKEY* key = nullptr;
  switch (group) {
    case transform_id::dh_x25519:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519");
      break;
    case transform_id::dh_ecp256:
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case transform_id::dh_modp2048: {
      PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "DH", nullptr), EVP_PKEY_CTX_free);
      char name[] = "modp_2048";
      OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, name, 0),
                             OSSL_PARAM_construct_end()};
      if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 || EVP_PKEY_CTX_set_params(ctx.get(), params) <= 0 ||
          EVP_PKEY_generate(ctx.get(), &key) <= 0)
        key = nullptr;
      break;
    }
    default:
      return Error("unsupported DH group " + std::to_string(group));
  }
  if (!key) return Error(openssl_error("DH key generation"));
  DhKeyPair pair(group, key);
  IST_TRY_ASSIGN(pair.public_, public_value_of(group, key));
  return pair;
}

Result<DhKeyPair> DhKeyPair::from_x25519_private(ByteView private_key) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key_ex(nullptr, "X25519", nullptr, private_key.data(), private_key.size());
  if (!key) return Error(openssl_error("x25519 private key"));
  DhKeyPair pair(transform_id::dh_x25519, key);
  IST_TRY_ASSIGN(pair.public_, public_value_of(pair.group_, key));
  return pair;
}

Result<Bytes> DhKeyPair::shared_secret(ByteView peer_public) const {
  IST_TRY_ASSIGN(auto peer, peer_key(group_, peer_public));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_.get(), nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) <= 0) return Error(openssl_error("DH derive init"));
  // RFC 7296 2.14: g^ir is padded with zeros to the modulus length.
  if (group_ == transform_id::dh_modp2048 && EVP_PKEY_CTX_set_dh_pad(ctx.get(), 1) <= 0)
    return Error(openssl_error("DH padding"));
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) <= 0) return Error(openssl_error("DH peer"));
  size_t len = 0;
  if (EVP_PKEY_derive(ctx.get(), nullptr, &len) <= 0) return Error(openssl_error("DH derive size"));
  Bytes out(len);
  if (EVP_PKEY_derive(ctx.get(), out.data(), &len) <= 0) return Error(openssl_error("DH derive"));
  out.resize(len);
  return out;
}

}  // namespace ist::native
