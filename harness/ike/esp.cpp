#include "ike/esp.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>

#include "ike/crypto.hpp"

namespace ist::native {

namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

constexpr size_t kSaltSize = 4;  // RFC 4106 8.1
constexpr size_t kIcvSize = 16;  // GCM-16 tag and HMAC-SHA2-256-128



bool equal_const_time(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

size_t block_of(const SkSuite& s) { return s.aead() ? 4 : 16; }

// AES-CBC over whole blocks, no OpenSSL padding (ESP pads itself).
Result<Bytes> aes_cbc(bool encrypt, ByteView key, ByteView iv, ByteView in) {
  const EVP_CIPHER* cipher = aes_cipher(false, key.size());
  if (!cipher || iv.size() != 16 || in.size() % 16) return Error("AES-CBC: bad key, IV or length");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  Bytes out(in.size() + 16);
  int n = 0, m = 0;
  if (!ctx || !EVP_CipherInit_ex(ctx.get(), cipher, nullptr, key.data(), iv.data(), encrypt ? 1 : 0) ||
      !EVP_CIPHER_CTX_set_padding(ctx.get(), 0) ||
      !EVP_CipherUpdate(ctx.get(), out.data(), &n, in.data(), static_cast<int>(in.size())) ||
      !EVP_CipherFinal_ex(ctx.get(), out.data() + n, &m))
    return Error("AES-CBC failed");
  out.resize(static_cast<size_t>(n + m));
  return out;
}

// AES-GCM decryption of ciphertext | tag; an Error when the tag does not verify.
Result<Bytes> aes_gcm_decrypt(ByteView key, ByteView nonce, ByteView aad, ByteView sealed) {
  const EVP_CIPHER* cipher = aes_cipher(true, key.size());
  if (!cipher || nonce.size() != 12 || sealed.size() < kIcvSize) return Error("AES-GCM: bad key, nonce or length");
  size_t clen = sealed.size() - kIcvSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  Bytes out(clen + 16);
  int n = 0, m = 0;
  Bytes tag(sealed.begin() + static_cast<std::ptrdiff_t>(clen), sealed.end());
  if (!ctx || !EVP_DecryptInit_ex(ctx.get(), cipher, nullptr, key.data(), nonce.data()) ||
      !EVP_DecryptUpdate(ctx.get(), nullptr, &n, aad.data(), static_cast<int>(aad.size())) ||
      !EVP_DecryptUpdate(ctx.get(), out.data(), &n, sealed.data(), static_cast<int>(clen)) ||
      !EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kIcvSize), tag.data()) ||
      EVP_DecryptFinal_ex(ctx.get(), out.data() + n, &m) <= 0)
    return Error("AES-GCM tag mismatch");
  out.resize(static_cast<size_t>(n + m));
  return out;
}

}  // namespace

std::string verdict_name(EspVerdict v) {
  switch (v) {
    case EspVerdict::ok: return "ok";
    case EspVerdict::malformed: return "malformed";
    case EspVerdict::wrong_spi: return "wrong_spi";
    case EspVerdict::replay: return "replay";
    case EspVerdict::integrity: return "integrity";
    case EspVerdict::padding: return "padding";
  }
  return "?";
}

Status EspKeys::validate() const {
  IST_TRY(suite.validate());
  if (encr.size() != suite.encr_key_size())
    return Error("ESP encryption key of " + std::to_string(encr.size()) + " bytes, expected " +
                 std::to_string(suite.encr_key_size()));
  if (integ.size() != suite.integ_key_size())
    return Error("ESP integrity key of " + std::to_string(integ.size()) + " bytes, expected " +
                 std::to_string(suite.integ_key_size()));
  return ok();
}

Result<Bytes> esp_encapsulate(const EspKeys& keys, uint32_t spi, uint32_t seq, uint8_t next_header, ByteView inner,
                              ByteView iv) {
  IST_TRY(keys.validate());
  if (spi == 0) return Error("ESP SPI 0 is reserved");
  const size_t iv_size = keys.suite.iv_size();
  Bytes iv_bytes;
  if (!iv.empty()) {
    if (iv.size() != iv_size) return Error("ESP IV must be " + std::to_string(iv_size) + " bytes");
    iv_bytes.assign(iv.begin(), iv.end());
  } else if (keys.suite.aead()) {
    put_u64(iv_bytes, seq);
  } else {
    IST_TRY_ASSIGN(iv_bytes, random_bytes(iv_size));
  }
  // Plaintext: payload | padding 1, 2, 3, ... | pad length | next header, to a block multiple.
  const size_t block = block_of(keys.suite);
  Bytes plain(inner.begin(), inner.end());
  size_t pad = (block - (inner.size() + 2) % block) % block;
  for (size_t i = 1; i <= pad; ++i) plain.push_back(static_cast<uint8_t>(i));
  plain.push_back(static_cast<uint8_t>(pad));
  plain.push_back(next_header);

  Bytes out;
  out.reserve(esp_header_size + iv_size + plain.size() + kIcvSize);
  put_u32(out, spi);
  put_u32(out, seq);
  put_bytes(out, iv_bytes);
  if (keys.suite.aead()) {
    const size_t aes_len = keys.encr.size() - kSaltSize;
    ByteView aes_key(keys.encr.data(), aes_len);
    Bytes nonce = concat({ByteView(keys.encr.data() + aes_len, kSaltSize), iv_bytes});
    IST_TRY_ASSIGN(Bytes sealed, aes_gcm_encrypt(aes_key, nonce, ByteView(out.data(), esp_header_size), plain));
    put_bytes(out, sealed);
  } else {
    IST_TRY_ASSIGN(Bytes cipher, aes_cbc(true, keys.encr, iv_bytes, plain));
    put_bytes(out, cipher);
    Bytes icv = hmac_sha256_128(keys.integ, out);  // over SPI | seq | IV | ciphertext
    put_bytes(out, icv);
  }
  return out;
}

ReplayWindow::ReplayWindow(uint32_t size) : size_(std::clamp<uint32_t>(size, 1, 1024)) {}

bool ReplayWindow::seen(uint32_t offset) const { return (bits_[offset / 64] >> (offset % 64)) & 1u; }

bool ReplayWindow::check(uint32_t seq) const {
  if (seq == 0) return false;  // never sent (RFC 4303 3.3.3: the first packet has seq 1)
  if (seq > top_) return true;
  uint32_t offset = top_ - seq;
  if (offset >= size_) return false;  // left of the window
  return !seen(offset);
}

void ReplayWindow::accept(uint32_t seq) {
  if (seq > top_) {
    // Slide: bit i moves to bit i + shift; bits beyond the window fall off.
    uint64_t shift = seq - top_;
    if (shift >= size_) {
      std::fill(std::begin(bits_), std::end(bits_), 0);
    } else {
      const size_t words = 16, ws = shift / 64, bs = shift % 64;
      for (size_t i = words; i-- > 0;) {
        uint64_t v = 0;
        if (i >= ws) {
          v = bits_[i - ws] << bs;
          if (bs && i > ws) v |= bits_[i - ws - 1] >> (64 - bs);
        }
        bits_[i] = v;
      }
    }
    top_ = seq;
    bits_[0] |= 1u;
    return;
  }
  uint32_t offset = top_ - seq;
  if (offset < size_) bits_[offset / 64] |= uint64_t{1} << (offset % 64);
}

Result<EspHeader> parse_esp_header(ByteView packet) {
  if (packet.size() < esp_header_size) return Error("ESP packet shorter than its header");
  EspHeader h{get_u32(packet.data()), get_u32(packet.data() + 4)};
  if (h.spi == 0) return Error("ESP SPI 0 is reserved");
  return h;
}

EspOpened esp_decapsulate(const EspKeys& keys, uint32_t spi, ReplayWindow& window, ByteView packet) {
  EspOpened r;
  auto header = parse_esp_header(packet);
  if (!header || !keys.validate()) return r;  // malformed
  r.spi = header->spi;
  r.seq = header->seq;
  if (r.spi != spi) {
    r.verdict = EspVerdict::wrong_spi;
    return r;
  }
  const size_t iv_size = keys.suite.iv_size(), block = block_of(keys.suite);
  if (packet.size() < esp_header_size + iv_size + block + kIcvSize ||
      (packet.size() - esp_header_size - iv_size - kIcvSize) % block != 0)
    return r;  // malformed: not a whole number of cipher blocks
  if (!window.check(r.seq)) {
    r.verdict = EspVerdict::replay;
    return r;
  }
  ByteView iv = packet.subspan(esp_header_size, iv_size);
  ByteView body = packet.subspan(esp_header_size + iv_size);  // ciphertext | ICV
  Bytes plain;
  if (keys.suite.aead()) {
    const size_t aes_len = keys.encr.size() - kSaltSize;
    Bytes nonce = concat({ByteView(keys.encr.data() + aes_len, kSaltSize), iv});
    auto opened = aes_gcm_decrypt(ByteView(keys.encr.data(), aes_len), nonce, packet.first(esp_header_size), body);
    if (!opened) {
      r.verdict = EspVerdict::integrity;
      return r;
    }
    plain = std::move(*opened);
  } else {
    ByteView authenticated = packet.first(packet.size() - kIcvSize);
    if (!equal_const_time(hmac_sha256_128(keys.integ, authenticated), packet.last(kIcvSize))) {
      r.verdict = EspVerdict::integrity;
      return r;
    }
    auto opened = aes_cbc(false, keys.encr, iv, body.first(body.size() - kIcvSize));
    if (!opened) {
      r.verdict = EspVerdict::integrity;
      return r;
    }
    plain = std::move(*opened);
  }
  // The sequence number is authenticated now: it moves the window even if the padding is bad.
  window.accept(r.seq);
  const uint8_t pad = plain[plain.size() - 2];
  if (static_cast<size_t>(pad) + 2 > plain.size()) {
    r.verdict = EspVerdict::padding;
    return r;
  }
  const size_t inner_len = plain.size() - 2 - pad;
  for (size_t i = 0; i < pad; ++i)
    if (plain[inner_len + i] != static_cast<uint8_t>(i + 1)) {
      r.verdict = EspVerdict::padding;
      return r;
    }
  r.next_header = plain.back();
  plain.resize(inner_len);
  r.inner = std::move(plain);
  r.verdict = EspVerdict::ok;
  return r;
}

}  // namespace ist::native
