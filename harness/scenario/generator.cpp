#include "scenario/generator.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>

#include "netns/ip_address.hpp"
#include "scenario/units.hpp"

namespace ist::scenario {
namespace {

constexpr std::uint32_t kMaxGenerators = 1024;

// The smallest b with 2^b >= n.
unsigned bits_for(std::uint32_t n) {
  unsigned b = 0;
  while ((std::uint64_t{1} << b) < n) ++b;
  return b;
}

bool read_uint(std::string_view t, std::uint32_t& out) {
  if (t.empty()) return false;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
  return ec == std::errc() && end == t.data() + t.size();
}

void divide(Arrival& a, std::uint32_t n) {
  a.rate_per_s /= n;
  a.ramp_from_per_s /= n;
  a.ramp_to_per_s /= n;
  a.burst = (a.burst + n - 1) / n;
}

}  // namespace

Result<GeneratorSlot> parse_generator(std::string_view text) {
  const auto slash = text.find('/');
  GeneratorSlot g;
  if (slash == std::string_view::npos || !read_uint(text.substr(0, slash), g.index) ||
      !read_uint(text.substr(slash + 1), g.count) || g.index < 1 || g.index > g.count || g.count > kMaxGenerators)
    return Error("--generator '" + std::string(text) + "': expected I/N with 1 <= I <= N <= " +
                 std::to_string(kMaxGenerators));
  return g;
}

Result<std::string> prefix_part(const std::string& prefix, unsigned bits, std::uint32_t i) {
  auto p = netns::IpPrefix::parse(prefix);
  if (!p || prefix.find('/') == std::string::npos) return Error("'" + prefix + "' is not an IP prefix");
  const int width = static_cast<int>(p->address.size() * 8);
  if (bits > 32 || p->length + static_cast<int>(bits) > width)
    return Error(prefix + " cannot be cut into " + std::to_string(std::uint64_t{1} << std::min(bits, 63u)) + " parts");
  if (bits < 32 && i >= (std::uint32_t{1} << bits)) return Error("part " + std::to_string(i) + " does not exist");
  // The network with part i's number written into the `bits` bits after the prefix length.
  netns::IpPrefix part = p->network();
  part.length = p->length + static_cast<int>(bits);
  for (unsigned k = 0; k < bits; ++k) {
    const int at = p->length + static_cast<int>(k);
    if ((i >> (bits - 1 - k)) & 1u) part.address.bytes[at / 8] |= static_cast<std::uint8_t>(0x80u >> (at % 8));
  }
  return part.str();
}

Result<Scenario> generator_share(const Scenario& s, GeneratorSlot g) {
  if (!s.target) return Error("--generator needs a scenario with target: (several generators, one gateway)");
  const std::uint64_t k = (s.peers.count + g.count - 1) / g.count;
  const std::uint64_t first = std::uint64_t{g.index - 1} * k;
  if (first >= s.peers.count)
    return Error("generator " + std::to_string(g.index) + "/" + std::to_string(g.count) + " has no peers: " +
                 std::to_string(s.peers.count) + " peers make blocks of " + std::to_string(k));
  Scenario out = s;
  out.peers.count = std::min(k, s.peers.count - first);
  out.peers.first_index = first;
  const unsigned bits = bits_for(g.count);
  auto peers = prefix_part(s.target->peers, bits, g.index - 1);
  if (!peers) return std::move(peers).error().wrap("target.peers");
  out.target->peers = *peers;
  if (s.target->inner) {
    auto part = prefix_part(*s.target->inner, bits, g.index - 1);
    if (!part) return std::move(part).error().wrap("target.inner");
    out.target->inner = *part;
  }
  for (const std::string* p : {&out.target->peers, out.target->inner ? &*out.target->inner : nullptr}) {
    if (p == nullptr) continue;
    const auto part = netns::IpPrefix::parse(*p);
    const std::uint64_t hosts = part ? netns::host_addresses(*part) : 0;
    if (hosts < k)
      return Error("generator " + std::to_string(g.index) + "/" + std::to_string(g.count) + ": its " +
                   std::to_string(k) + " peers do not fit its prefix " + *p + " (" +
                   std::to_string(hosts) + " addresses); give target.peers/inner a shorter prefix");
  }
  divide(out.peers.arrival, g.count);
  for (Phase& ph : out.phases) {
    if (ph.arrival) divide(*ph.arrival, g.count);
    if (ph.kind == Phase::Kind::churn) ph.rate_per_s /= g.count;
  }
  return out;
}

Result<std::chrono::system_clock::time_point> parse_start_at(std::string_view text, bool single,
                                                             std::chrono::system_clock::time_point now) {
  const std::string t(text);
  if (!t.empty() && t[0] == '+') {
    if (!single)
      return Error("--start-at '" + t + "': a relative start only with one generator; give every generator the "
                   "same RFC 3339 UTC time, e.g. 2026-12-07T06:30:00Z");
    auto d = parse_duration(t.substr(1));
    if (const auto* why = std::get_if<std::string>(&d)) return Error("--start-at '" + t + "': " + *why);
    if (std::get<std::chrono::milliseconds>(d) > std::chrono::hours(24))
      return Error("--start-at '" + t + "' is more than a day ahead");
    return now + std::get<std::chrono::milliseconds>(d);
  }
  const std::string what = "--start-at '" + t + "': expected an RFC 3339 UTC time like 2026-12-07T06:30:00Z";
  std::tm tm{};
  const char* end = ::strptime(t.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) return Error(what);
  long long nanos = 0;
  if (*end == '.') {
    int digits = 0;
    for (++end; *end >= '0' && *end <= '9'; ++end, ++digits)
      if (digits < 9) nanos = nanos * 10 + (*end - '0');
    if (digits == 0) return Error(what);
    for (int d = digits; d < 9; ++d) nanos *= 10;
  }
  if ((*end != 'Z' && *end != 'z') || end[1] != '\0') return Error(what + " (UTC, ending in Z)");
  const std::time_t secs = ::timegm(&tm);
  if (secs == -1) return Error(what);
  // Compared in seconds first: a far instant would overflow the clock's nanoseconds.
  const std::time_t now_s = std::chrono::system_clock::to_time_t(now);
  if (secs > now_s + 86400) return Error("--start-at '" + t + "' is more than a day ahead");
  return std::chrono::system_clock::from_time_t(secs) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanos));
}

}  // namespace ist::scenario
