#pragma once
// The Encrypted and Authenticated payload (RFC 7296 3.14) with AES-GCM-16 (RFC 5282) or
// AES-CBC + HMAC-SHA2-256-128 (RFC 3602, RFC 4868): sealing a payload chain into a complete
// message and opening a received one.
#include <cstdint>

#include "common/result.hpp"
#include "ike/bytes.hpp"
#include "ike/ike_message.hpp"

namespace ist::native {

struct SkSuite {
  uint16_t encr = transform_id::encr_aes_gcm_16;
  uint16_t key_bits = 128;
  uint16_t integ = transform_id::integ_none;  // must be none for GCM

  bool aead() const { return encr == transform_id::encr_aes_gcm_16; }
  // SK_e length: the AES key, plus the 4-byte salt for GCM (RFC 5282 7.1).
  size_t encr_key_size() const { return key_bits / 8u + (aead() ? 4u : 0u); }
  size_t integ_key_size() const { return integ == transform_id::integ_hmac_sha2_256_128 ? 32 : 0; }
  size_t iv_size() const { return aead() ? 8 : 16; }
  size_t icv_size() const { return 16; }
  // Checks the combination is one this engine implements.
  Status validate() const;
  // From the ENCR/INTEG transforms of a chosen IKE proposal.
  static Result<SkSuite> from_proposal(const Proposal& p);
};

// AES-GCM with a 16-byte tag (RFC 5282's ICV): returns ciphertext | tag. The key is 16, 24
// or 32 bytes; the nonce is 12 bytes (salt | IV in IKE).
Result<Bytes> aes_gcm_encrypt(ByteView key, ByteView nonce, ByteView aad, ByteView plain);

// Builds a complete message: `header` (length and next payload set here) followed by one
// SK payload holding `inner` (a serialized payload chain starting with `first_inner`).
// `iv` may be given for test vectors; otherwise it is random.
Result<Bytes> seal_message(const SkSuite& suite, ByteView encr_key, ByteView integ_key, Header header,
                           PayloadType first_inner, ByteView inner, ByteView iv = {});

// Verifies and decrypts the SK payload of `datagram` (already parsed into `sk`, which the
// parser guarantees is the last payload). Returns the inner payload chain bytes without
// padding; an integrity failure or bad padding is an Error.
Result<Bytes> open_message(const SkSuite& suite, ByteView encr_key, ByteView integ_key, ByteView datagram,
                           const SkPayload& sk);

}  // namespace ist::native
