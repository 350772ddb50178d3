// Fuzzes ESP decapsulation (the data plane's first contact with the SUT's bytes) and the inner
// IPv4/UDP parser. The first byte picks a mode (modulo 3):
//   0/1  the rest is an ESP packet for a fixed AES-GCM (0) or AES-CBC+HMAC (1) SA, opened with
//        the SPI it carries (so the length, window and integrity checks all run);
//   2    the rest is a plaintext (payload | padding | pad length | next header) that this
//        target seals with the GCM SA's key, so the authenticated padding parsing runs.
// Properties beyond "no crash": an accepted packet is refused as a replay the second time, an
// accepted packet re-encapsulates (same IV, same seq) to the same bytes when its padding is the
// minimal 1, 2, 3, ... run, and the inner parser never crashes on what decapsulation returns.
#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "ike/esp.hpp"
#include "ike/esp_inner.hpp"

namespace {
using namespace ist::native;

const EspKeys& keys(bool cbc) {
  static const EspKeys gcm{SkSuite{transform_id::encr_aes_gcm_16, 128, transform_id::integ_none},
                           Bytes(20, 0x42), {}};
  static const EspKeys hmac{SkSuite{transform_id::encr_aes_cbc, 128, transform_id::integ_hmac_sha2_256_128},
                            Bytes(16, 0x17), Bytes(32, 0x99)};
  return cbc ? hmac : gcm;
}

void check(const EspKeys& k, ByteView packet) {
  auto header = parse_esp_header(packet);
  uint32_t spi = header ? header->spi : 1;
  ReplayWindow w(32);
  EspOpened r = esp_decapsulate(k, spi, w, packet);
  if (r.verdict != EspVerdict::ok) return;
  (void)parse_ipv4_udp(r.inner);
  if (esp_decapsulate(k, spi, w, packet).verdict != EspVerdict::replay) std::abort();
  ByteView iv = packet.subspan(esp_header_size, k.suite.iv_size());
  auto again = esp_encapsulate(k, r.spi, r.seq, r.next_header, r.inner, iv);
  if (!again) std::abort();
  // Same length means the padding was the minimal 1, 2, 3, ... run: then the bytes must match.
  if (packet.size() == again->size() && !std::equal(again->begin(), again->end(), packet.begin())) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0] % 3;
  ByteView rest(data + 1, size - 1);
  const EspKeys& k = keys(mode % 2 == 1);
  if (mode < 2) {
    check(k, rest);
    return 0;
  }
  // Seal the plaintext by hand (zero-filled up to whole 4-byte blocks, at least one).
  Bytes plain(rest.begin(), rest.end());
  while (plain.size() < 4 || plain.size() % 4) plain.push_back(0);
  Bytes head{0, 0, 0, 9, 0, 0, 0, 1};
  Bytes iv(k.suite.iv_size(), 0x5a);
  Bytes nonce = concat({ByteView(k.encr).last(4), iv});
  auto sealed = aes_gcm_encrypt(ByteView(k.encr).first(16), nonce, head, plain);
  if (!sealed) std::abort();
  check(k, concat({head, iv, *sealed}));
  return 0;
}
