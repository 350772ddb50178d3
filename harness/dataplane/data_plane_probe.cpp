#include "dataplane/data_plane_probe.hpp"

#include <algorithm>

namespace ist::fleet {

namespace {
constexpr uint8_t kMagic[4] = {'I', 'S', 'T', 'd'};
}

const char* to_string(ProbeKind k) {
  switch (k) {
    case ProbeKind::normal: return "normal";
    case ProbeKind::bad_spi: return "bad_spi";
    case ProbeKind::replay: return "replay";
    case ProbeKind::after_expiry: return "after_expiry";
  }
  return "?";
}

native::Bytes encode_probe(const Probe& p, size_t size) {
  native::Bytes out(kMagic, kMagic + 4);
  native::put_u8(out, static_cast<uint8_t>(p.kind));
  native::put_u8(out, p.echo ? 1 : 0);
  native::put_u32(out, p.peer);
  native::put_u64(out, p.number);
  for (size_t i = out.size(); i < size; ++i) out.push_back(static_cast<uint8_t>(i));
  return out;
}

std::optional<Probe> decode_probe(native::ByteView b) {
  if (b.size() < kProbeSize || !std::equal(kMagic, kMagic + 4, b.begin())) return std::nullopt;
  if (b[4] >= kProbeKinds || b[5] > 1) return std::nullopt;
  Probe p;
  p.kind = static_cast<ProbeKind>(b[4]);
  p.echo = b[5] == 1;
  p.peer = native::get_u32(b.data() + 6);
  p.number = native::get_u64(b.data() + 10);
  return p;
}

}  // namespace ist::fleet
