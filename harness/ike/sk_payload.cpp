#include "ike/sk_payload.hpp"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "ike/crypto.hpp"

namespace ist::native {

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;



bool equal_const_time(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace

Result<Bytes> aes_gcm_encrypt(ByteView key, ByteView nonce, ByteView aad, ByteView plain) {
  const EVP_CIPHER* cipher = aes_cipher(true, key.size());
  if (!cipher) return Error("AES-GCM key of " + std::to_string(key.size()) + " bytes");
  if (nonce.size() != 12) return Error("AES-GCM nonce must be 12 bytes");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  Bytes out(plain.size() + 16);
  int n = 0, m = 0;
  if (!ctx || !EVP_EncryptInit_ex(ctx.get(), cipher, nullptr, key.data(), nonce.data()) ||
      (!aad.empty() && !EVP_EncryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size()))) ||
      !EVP_EncryptUpdate(ctx.get(), out.data(), &n, plain.data(), static_cast<int>(plain.size())) ||
      !EVP_EncryptFinal_ex(ctx.get(), out.data() + n, &m) ||
      !EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, out.data() + plain.size()))
    return Error("AES-GCM encryption failed");
  return out;
}

Status SkSuite::validate() const {
  if (key_bits != 128 && key_bits != 192 && key_bits != 256)
    return Error("unsupported AES key length " + std::to_string(key_bits));
  if (encr == transform_id::encr_aes_gcm_16) {
    if (integ != transform_id::integ_none) return Error("AES-GCM with an integrity algorithm");
    return ok();
  }
  if (encr == transform_id::encr_aes_cbc) {
    if (integ != transform_id::integ_hmac_sha2_256_128) return Error("AES-CBC needs HMAC-SHA2-256-128");
    return ok();
  }
  return Error("unsupported encryption algorithm " + std::to_string(encr));
}

Result<SkSuite> SkSuite::from_proposal(const Proposal& p) {
  SkSuite s;
  const Transform* e = p.find(TransformType::encr);
  if (!e || !e->key_length) return Error("proposal without an ENCR transform with key length");
  s.encr = e->id;
  s.key_bits = *e->key_length;
  const Transform* i = p.find(TransformType::integ);
  s.integ = i ? i->id : transform_id::integ_none;
  IST_TRY(s.validate());
  return s;
}

Result<Bytes> seal_message(const SkSuite& suite, ByteView encr_key, ByteView integ_key, Header header,
                           PayloadType first_inner, ByteView inner, ByteView iv) {
  IST_TRY(suite.validate());
  if (encr_key.size() != suite.encr_key_size()) return Error("SK_e has the wrong length");
  if (integ_key.size() != suite.integ_key_size()) return Error("SK_a has the wrong length");
  Bytes iv_bytes;
  if (iv.empty()) {
    IST_TRY_ASSIGN(iv_bytes, random_bytes(suite.iv_size()));
  } else {
    if (iv.size() != suite.iv_size()) return Error("IV has the wrong length");
    iv_bytes.assign(iv.begin(), iv.end());
  }
  // Plaintext = payloads | padding | pad length. GCM needs no padding; CBC pads to blocks.
  Bytes plain(inner.begin(), inner.end());
  size_t pad = suite.aead() ? 0 : (16 - (plain.size() + 1) % 16) % 16;
  plain.insert(plain.end(), pad, 0);
  plain.push_back(static_cast<uint8_t>(pad));

  size_t sk_len = generic_header_size + suite.iv_size() + plain.size() + suite.icv_size();
  Bytes out;
  out.reserve(header_size + sk_len);
  put_u64(out, header.spi_i);
  put_u64(out, header.spi_r);
  put_u8(out, static_cast<uint8_t>(PayloadType::sk));
  put_u8(out, header.version);
  put_u8(out, static_cast<uint8_t>(header.exchange));
  put_u8(out, header.flags);
  put_u32(out, header.message_id);
  put_u32(out, static_cast<uint32_t>(header_size + sk_len));
  put_u8(out, static_cast<uint8_t>(first_inner));
  put_u8(out, 0);
  put_u16(out, static_cast<uint16_t>(sk_len));
  size_t aad_len = out.size();
  put_bytes(out, iv_bytes);

  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  size_t ct_at = out.size();
  out.resize(ct_at + plain.size());
  int n = 0;
  if (suite.aead()) {
    size_t key_bytes = suite.key_bits / 8u;
    Bytes nonce(encr_key.begin() + static_cast<std::ptrdiff_t>(key_bytes), encr_key.end());  // salt
    put_bytes(nonce, iv_bytes);
    IST_TRY_ASSIGN(Bytes sealed, aes_gcm_encrypt(encr_key.first(key_bytes), nonce, ByteView(out).first(aad_len), plain));
    out.resize(ct_at);
    put_bytes(out, sealed);
  } else {
    if (!ctx || !EVP_EncryptInit_ex(ctx.get(), aes_cipher(false, encr_key.size()), nullptr, encr_key.data(), iv_bytes.data()) ||
        !EVP_CIPHER_CTX_set_padding(ctx.get(), 0) ||
        !EVP_EncryptUpdate(ctx.get(), out.data() + ct_at, &n, plain.data(), static_cast<int>(plain.size())) ||
        !EVP_EncryptFinal_ex(ctx.get(), out.data() + ct_at + n, &n))
      return Error("AES-CBC encryption failed");
    Bytes icv = hmac_sha256_128(integ_key, out);
    put_bytes(out, icv);
  }
  return out;
}

Result<Bytes> open_message(const SkSuite& suite, ByteView encr_key, ByteView integ_key, ByteView datagram,
                           const SkPayload& sk) {
  IST_TRY(suite.validate());
  if (encr_key.size() != suite.encr_key_size() || integ_key.size() != suite.integ_key_size())
    return Error("SK keys have the wrong length");
  if (sk.body.size() < suite.iv_size() + suite.icv_size() + 1 || datagram.size() < header_size + generic_header_size + sk.body.size())
    return Error("SK payload of " + std::to_string(sk.body.size()) + " bytes is too short");
  size_t body_at = datagram.size() - sk.body.size();
  ByteView iv = datagram.subspan(body_at, suite.iv_size());
  size_t ct_at = body_at + suite.iv_size();
  size_t ct_len = sk.body.size() - suite.iv_size() - suite.icv_size();
  ByteView icv = datagram.subspan(datagram.size() - suite.icv_size());
  Bytes plain(ct_len + 16);
  int n = 0, m = 0;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (suite.aead()) {
    size_t key_bytes = suite.key_bits / 8u;
    Bytes nonce(encr_key.begin() + static_cast<std::ptrdiff_t>(key_bytes), encr_key.end());
    put_bytes(nonce, iv);
    Bytes tag(icv.begin(), icv.end());
    if (!ctx || !EVP_DecryptInit_ex(ctx.get(), aes_cipher(true, key_bytes), nullptr, encr_key.data(), nonce.data()) ||
        !EVP_DecryptUpdate(ctx.get(), nullptr, &n, datagram.data(), static_cast<int>(body_at)) ||
        !EVP_DecryptUpdate(ctx.get(), plain.data(), &n, datagram.data() + ct_at, static_cast<int>(ct_len)) ||
        !EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, tag.data()))
      return Error("AES-GCM decryption failed");
    if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &m) <= 0)
      return Error("SK payload integrity check failed (AES-GCM tag)");
  } else {
    Bytes expected = hmac_sha256_128(integ_key, datagram.first(datagram.size() - suite.icv_size()));
    if (!equal_const_time(expected, icv)) return Error("SK payload integrity check failed (HMAC-SHA2-256-128)");
    if (ct_len % 16 != 0) return Error("SK ciphertext is not a whole number of AES blocks");
    if (!ctx || !EVP_DecryptInit_ex(ctx.get(), aes_cipher(false, encr_key.size()), nullptr, encr_key.data(), iv.data()) ||
        !EVP_CIPHER_CTX_set_padding(ctx.get(), 0) ||
        !EVP_DecryptUpdate(ctx.get(), plain.data(), &n, datagram.data() + ct_at, static_cast<int>(ct_len)) ||
        !EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &m))
      return Error("AES-CBC decryption failed");
  }
  plain.resize(static_cast<size_t>(n + m));
  if (plain.empty()) return Error("SK plaintext without a pad length");
  size_t pad = plain.back();
  if (pad + 1 > plain.size()) return Error("SK pad length " + std::to_string(pad) + " exceeds the plaintext");
  plain.resize(plain.size() - pad - 1);
  return plain;
}

}  // namespace ist::native
