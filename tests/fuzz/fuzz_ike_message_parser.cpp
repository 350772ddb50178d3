// Fuzzes the IKEv2 message parser (the native engine's first contact with outside bytes).
// Properties beyond "no crash": a parsed message re-serializes to bytes that parse back to the
// same message, and the same bytes read as a bare payload chain (as in SK plaintext) never crash.
#include <cstdint>
#include <cstdlib>

#include "ike/ike_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ist::native;
  ByteView in(data, size);
  auto m = parse_message(in);
  if (m) {
    Bytes again = serialize_message(*m);
    auto back = parse_message(again);
    if (!back || !(*back == *m)) std::abort();
    if (serialize_message(*back) != again) std::abort();
  }
  if (size > 0) {
    auto chain = parse_payload_chain(static_cast<PayloadType>(data[0]), in.subspan(1), 1);
    if (chain) {
      Bytes again = serialize_payload_chain(*chain);
      auto back = parse_payload_chain(static_cast<PayloadType>(data[0]), again);
      if (!back || !(*back == *chain)) std::abort();
    }
  }
  return 0;
}
