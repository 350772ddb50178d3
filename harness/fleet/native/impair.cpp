#include "fleet/native/impair.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "ike/initiator.hpp"  // ike_port, natt_port

namespace ist::native {

namespace {

struct Named {
  const char* name;
  uint8_t value;
};
constexpr Named kActions[] = {{"drop", 0}, {"delay", 1}, {"duplicate", 2}, {"reorder", 3}, {"corrupt", 4}, {"malform", 5}};
constexpr Named kMalforms[] = {
    {"unknown_critical", 0}, {"bad_version", 1}, {"short_nonce", 2}, {"bad_ke", 3}, {"bad_length", 4}};
constexpr Named kExchanges[] = {{"IKE_SA_INIT", 34}, {"IKE_AUTH", 35}, {"CREATE_CHILD_SA", 36}, {"INFORMATIONAL", 37}};

template <size_t N>
const char* name_of(const Named (&table)[N], uint8_t v) {
  for (const auto& n : table)
    if (n.value == v) return n.name;
  return "?";
}
template <size_t N>
std::optional<uint8_t> value_of(const Named (&table)[N], std::string_view s) {
  for (const auto& n : table)
    if (s == n.name) return n.value;
  return std::nullopt;
}

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g%%", share * 100);
  return buf;
}

}  // namespace

const char* to_string(ImpairAction a) { return name_of(kActions, static_cast<uint8_t>(a)); }
const char* to_string(MalformKind k) { return name_of(kMalforms, static_cast<uint8_t>(k)); }
const char* to_string(ImpairDirection d) {
  return d == ImpairDirection::in ? "in" : d == ImpairDirection::out ? "out" : "both";
}
const char* to_string(ImpairMessage m) {
  return m == ImpairMessage::request ? "request" : m == ImpairMessage::response ? "response" : "any";
}
std::optional<ImpairAction> impair_action_from(std::string_view s) {
  auto v = value_of(kActions, s);
  return v ? std::optional(static_cast<ImpairAction>(*v)) : std::nullopt;
}
std::optional<MalformKind> malform_kind_from(std::string_view s) {
  auto v = value_of(kMalforms, s);
  return v ? std::optional(static_cast<MalformKind>(*v)) : std::nullopt;
}
const char* exchange_name(ExchangeType t) { return name_of(kExchanges, static_cast<uint8_t>(t)); }
std::optional<ExchangeType> exchange_from(std::string_view s) {
  auto v = value_of(kExchanges, s);
  return v ? std::optional(static_cast<ExchangeType>(*v)) : std::nullopt;
}

std::string ImpairRule::describe() const {
  std::string s = to_string(action);
  if (action == ImpairAction::malform) s += std::string(" (") + to_string(malform) + ")";
  if (action == ImpairAction::delay) s += " by " + std::to_string(delay.count()) + " ms";
  if (action == ImpairAction::duplicate) s += " x" + std::to_string(copies);
  if (esp) {
    s += " ESP";
  } else {
    s += exchange ? std::string(" ") + exchange_name(*exchange) : std::string(" IKE");
    if (message != ImpairMessage::any) s += std::string(" ") + to_string(message) + "s";
  }
  if (direction != ImpairDirection::both) s += std::string(" ") + to_string(direction);
  s += ", " + percent(peers) + " of peers";
  if (packets < 1) s += ", " + percent(packets) + " of datagrams";
  return s;
}

DatagramInfo inspect_datagram(const PacketDatagram& d) {
  DatagramInfo info;
  const ByteView p = d.payload;
  const bool natt = d.src.port == natt_port || d.dst.port == natt_port;
  size_t off = 0;
  if (natt) {
    if (p.size() == 1 && p[0] == 0xff) {
      info.kind = DatagramInfo::Kind::keepalive;
      return info;
    }
    if (p.size() >= 4 && get_u32(p.data()) == 0) {
      off = 4;  // non-ESP marker: IKE follows
    } else {
      if (p.size() >= 8) info.kind = DatagramInfo::Kind::esp;
      return info;
    }
  }
  if (p.size() < off + 28) return info;
  info.kind = DatagramInfo::Kind::ike;
  info.ike_offset = off;
  info.exchange = p[off + 18];
  info.response = (p[off + 19] & flags::response) != 0;
  info.message_id = get_u32(p.data() + off + 20);
  return info;
}

bool rule_matches(const ImpairRule& r, ImpairDirection dir, const DatagramInfo& info) {
  if (r.direction != ImpairDirection::both && r.direction != dir) return false;
  if (r.esp) return info.kind == DatagramInfo::Kind::esp;
  if (info.kind != DatagramInfo::Kind::ike) return false;
  if (r.exchange && static_cast<uint8_t>(*r.exchange) != info.exchange) return false;
  if (r.message == ImpairMessage::request && info.response) return false;
  if (r.message == ImpairMessage::response && !info.response) return false;
  return true;
}

uint64_t impair_hash(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

Result<ImpairPlan> ImpairPlan::make(std::vector<ImpairRule> rules, uint32_t peers, uint64_t seed) {
  ImpairPlan plan;
  plan.rng_ = impair_hash(seed ^ 0x696d70616972ull);  // "impair"
  std::vector<uint32_t> order(peers);
  std::iota(order.begin(), order.end(), 0u);
  const uint64_t salt = impair_hash(seed + 0x5eed);
  std::sort(order.begin(), order.end(), [salt](uint32_t a, uint32_t b) {
    return impair_hash(salt ^ a) < impair_hash(salt ^ b);
  });
  uint32_t next = 0;
  for (size_t i = 0; i < rules.size(); ++i) {
    const ImpairRule& r = rules[i];
    const std::string which = "impairment " + std::to_string(i + 1) + " (" + r.describe() + ")";
    if (!(r.peers >= 0 && r.peers <= 1) || !(r.packets >= 0 && r.packets <= 1))
      return Error(which + ": shares are 0% to 100%");
    if (r.action == ImpairAction::duplicate && (r.copies < 1 || r.copies > 16))
      return Error(which + ": copies are 1 to 16");
    if (r.action == ImpairAction::malform && (r.esp || r.direction != ImpairDirection::out))
      return Error(which + ": malform rewrites the peers' own IKE messages: direction out, not esp");
    if (r.action == ImpairAction::delay && r.delay.count() <= 0) return Error(which + ": delay needs a duration");
    // Exactly round(share x peers) peers, the next ones along one seeded shuffle of all
    // peers: rules take disjoint sets while their shares add up to 100% or less.
    const auto k = static_cast<uint32_t>(std::llround(r.peers * peers));
    std::vector<bool> chosen(peers, false);
    for (uint32_t j = 0; j < k; ++j) chosen[order[(next + j) % peers]] = true;
    next = peers ? (next + k) % peers : 0;
    plan.selected_.push_back(std::move(chosen));
    plan.counts_.push_back(k);
  }
  plan.rules_ = std::move(rules);
  return plan;
}

bool ImpairPlan::selected(size_t rule, uint32_t peer) const {
  return rule < selected_.size() && peer < selected_[rule].size() && selected_[rule][peer];
}

uint32_t ImpairPlan::selected_count(size_t rule) const { return rule < counts_.size() ? counts_[rule] : 0; }

uint64_t ImpairPlan::next_random() {
  rng_ += 0x9e3779b97f4a7c15ull;
  return impair_hash(rng_);
}

std::optional<size_t> ImpairPlan::decide(uint32_t peer, ImpairDirection dir, const DatagramInfo& info) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    const ImpairRule& r = rules_[i];
    if (!selected(i, peer) || !rule_matches(r, dir, info)) continue;
    if (r.packets < 1) {
      const double u = static_cast<double>(next_random() >> 11) * 0x1.0p-53;
      if (u >= r.packets) continue;
    }
    return i;
  }
  return std::nullopt;
}

}  // namespace ist::native
