// link: rate and loss on the veth between the SUT and the peers.
#include "scenario/validate/reader.hpp"

#include "scenario/units.hpp"

namespace ist::scenario::validation {

void Validator::read_link(const Node* n, Link& link) {
  if (n == nullptr) return;
  MapReader r(n, "link", diag_);
  if (const Node* rate = r.get("rate")) {
    const std::string what = "a link rate like 1gbit or 100mbit (1kbit to 10000gbit)";
    if (need_scalar(*rate, "link.rate", what)) {
      auto v = parse_bitrate(rate->scalar);
      if (auto* why = std::get_if<std::string>(&v)) {
        bad(*rate, "link.rate", what, *why);
      } else if (auto bits = std::get<std::uint64_t>(v); bits < 1000 || bits > 10'000'000'000'000ULL) {
        bad(*rate, "link.rate", what, "out of range");
      } else {
        link.rate_bits_per_s = bits;
      }
    }
  }
  read_share(r.get("loss"), "link.loss", true, link.loss);
}

}  // namespace ist::scenario::validation
