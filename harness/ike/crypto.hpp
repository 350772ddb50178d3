#pragma once
// IKEv2 key material (RFC 7296 2.13-2.17), Diffie-Hellman groups via EVP_PKEY and the PSK
// AUTH computation. Only PRF_HMAC_SHA2_256 is implemented, so prf keys and outputs are 32 bytes.
#include <cstdint>
#include <memory>

#include "common/result.hpp"
#include "ike/bytes.hpp"
#include "ike/ike_message.hpp"

struct evp_pkey_st;
struct evp_cipher_st;

namespace ist::native {

inline constexpr size_t prf_size = 32;

// prf = HMAC-SHA2-256 (RFC 4868).
Bytes prf(ByteView key, ByteView data);
// HMAC-SHA2-256-128 (RFC 4868 2.3): the ICV of AES-CBC SK payloads and ESP packets.
Bytes hmac_sha256_128(ByteView key, ByteView data);
// AES-GCM or AES-CBC for a 16/24/32-byte key (OpenSSL's static cipher); nullptr otherwise.
const evp_cipher_st* aes_cipher(bool gcm, size_t key_bytes);
// prf+ (RFC 7296 2.13): T1 | T2 | ... with Tn = prf(K, Tn-1 | S | n), truncated to `length`.
// The RFC caps n at 255; asking for more than 255 * 32 bytes returns an empty buffer.
Bytes prf_plus(ByteView key, ByteView seed, size_t length);

// Cryptographically random bytes (RAND_bytes); aborts nothing, an OpenSSL failure is an Error.
Result<Bytes> random_bytes(size_t n);
// SHA-1, used only for NAT detection hashes (RFC 7296 2.23).
Bytes sha1(ByteView data);
// NAT_DETECTION_*_IP data: SHA-1(SPIi | SPIr | IP | port).
Bytes nat_detection_hash(uint64_t spi_i, uint64_t spi_r, ByteView ip, uint16_t port);

struct IkeKeyLengths {
  size_t integ = 0;  // 0 for AEAD
  size_t encr = 0;   // including the 4-byte salt for AES-GCM
};

// An IKE_SA's keys in one heap block (the native engine keeps one IKE_SA per peer; seven
// separate buffers cost ~250 bytes of heap and 190 of object per peer): SKEYSEED | SK_d |
// SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr as derived. SKEYSEED and SK_pi/SK_pr serve
// only the AUTH payloads (and a rekeyed IKE_SA has no AUTH): forget_auth_keys() keeps SK_d,
// SK_a* and SK_e* alone, after which skeyseed(), sk_pi() and sk_pr() are empty.
class IkeKeys {
 public:
  IkeKeys() = default;
  // `block` = SKEYSEED | prf+ output, with SK_a* of `integ` and SK_e* of `encr` bytes.
  IkeKeys(Bytes block, size_t integ, size_t encr);

  ByteView skeyseed() const { return auth_ ? at(0, prf_size) : ByteView{}; }
  ByteView sk_d() const { return at(base(), prf_size); }
  ByteView sk_ai() const { return at(base() + prf_size, integ_); }
  ByteView sk_ar() const { return at(base() + prf_size + integ_, integ_); }
  ByteView sk_ei() const { return at(base() + prf_size + 2 * integ_, encr_); }
  ByteView sk_er() const { return at(base() + prf_size + 2 * integ_ + encr_, encr_); }
  ByteView sk_pi() const { return auth_ ? at(base() + prf_size + 2 * integ_ + 2 * encr_, prf_size) : ByteView{}; }
  ByteView sk_pr() const { return auth_ ? at(base() + 2 * prf_size + 2 * integ_ + 2 * encr_, prf_size) : ByteView{}; }
  void forget_auth_keys();

 private:
  size_t base() const { return auth_ ? prf_size : 0; }
  ByteView at(size_t offset, size_t n) const {
    return n == 0 || buf_.size() < offset + n ? ByteView{} : ByteView(buf_.data() + offset, n);
  }
  Bytes buf_;
  uint8_t integ_ = 0, encr_ = 0;
  bool auth_ = false;  // SKEYSEED and SK_p* still held
};

// SKEYSEED = prf(Ni | Nr, g^ir); {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr}
// = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr).
IkeKeys derive_ike_keys(ByteView shared_secret, ByteView ni, ByteView nr, uint64_t spi_i, uint64_t spi_r,
                        IkeKeyLengths lengths);

// Keys of an IKE_SA that replaces another (2.18): SKEYSEED = prf(SK_d (old), g^ir (new) |
// Ni | Nr), then the same prf+ split with the new SPIs.
IkeKeys derive_rekeyed_ike_keys(ByteView old_sk_d, ByteView shared_secret, ByteView ni, ByteView nr,
                                uint64_t spi_i, uint64_t spi_r, IkeKeyLengths lengths);

// CHILD_SA key material (2.17): KEYMAT = prf+(SK_d, [g^ir (new) |] Ni | Nr), taken as
// initiator-to-responder encryption, integrity, then responder-to-initiator.
struct ChildKeys {
  Bytes encr_i, integ_i;  // initiator -> responder (the responder's inbound SA)
  Bytes encr_r, integ_r;  // responder -> initiator
};
ChildKeys derive_child_keys(ByteView sk_d, ByteView ni, ByteView nr, size_t encr_len, size_t integ_len,
                            ByteView new_shared_secret = {});

// PSK AUTH data (2.15): prf(prf(PSK, "Key Pad for IKEv2"), <SignedOctets>), where
// SignedOctets = RealMessage | peer's nonce | prf(SK_p, IDType | RESERVED | ID data).
Bytes psk_auth(ByteView psk, ByteView real_message, ByteView peer_nonce, ByteView sk_p, const IdPayload& id);

// Diffie-Hellman key pair in one of the supported groups (transform ids 14, 19, 31).
class DhKeyPair {
 public:
  static Result<DhKeyPair> generate(uint16_t group);
  // Fixed private keys, for test vectors.
  static Result<DhKeyPair> from_x25519_private(ByteView private_key);

  DhKeyPair(DhKeyPair&&) noexcept = default;
  DhKeyPair& operator=(DhKeyPair&&) noexcept = default;
  ~DhKeyPair();

  uint16_t group() const { return group_; }
  // KE payload encoding: x25519 32 bytes (RFC 8031), ecp256 x | y (RFC 5903), modp2048
  // 256 bytes big-endian.
  const Bytes& public_value() const { return public_; }
  // The shared secret g^ir in IKE encoding (x25519 32 bytes, ecp256 the x coordinate,
  // modp2048 zero-padded to 256 bytes). A malformed peer value is an Error.
  Result<Bytes> shared_secret(ByteView peer_public) const;

 private:
  struct PkeyFree {
    void operator()(evp_pkey_st* p) const;
  };
  DhKeyPair(uint16_t group, evp_pkey_st* key);
  uint16_t group_ = 0;
  std::unique_ptr<evp_pkey_st, PkeyFree> key_;
  Bytes public_;
};
bool dh_group_supported(uint16_t group);
size_t dh_public_size(uint16_t group);  // 0 when unsupported

}  // namespace ist::native
