// peers.ike / peers.child / sut.ike / sut.child: proposals and lifetimes.
#include "scenario/validate/reader.hpp"

#include <algorithm>

#include "scenario/units.hpp"

namespace ist::scenario::validation {

using namespace std::chrono_literals;

void Validator::read_proposals(const Node* n, const std::string& path, std::vector<std::string>& out) {
  if (n == nullptr) return;
  const std::string what = "a list of proposals like [aes128-sha256-x25519]";
  std::vector<const Node*> items;
  if (n->is_scalar()) {
    items.push_back(n);
  } else if (n->is_sequence()) {
    for (const auto& i : n->items) items.push_back(&i);
  } else {
    return bad(*n, path, what);
  }
  if (items.empty()) {
    diag_.add(n->origin, path + ": the list is empty; give at least one proposal");
    return;
  }
  if (items.size() > kMaxProposals) return bad(*n, path, what, "more than 32 proposals");
  std::vector<std::string> v;
  for (const Node* i : items) {
    const bool ok = i->is_scalar() && !i->scalar.empty() && i->scalar.size() <= 200 &&
                    std::all_of(i->scalar.begin(), i->scalar.end(), [](char c) {
                      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                             (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '!';
                    });
    if (!ok) {
      bad(*i, path, "a proposal of letters, digits, '-' and '_' (e.g. aes128gcm16-x25519)");
      return;
    }
    v.push_back(i->scalar);
  }
  out = std::move(v);
}

void Validator::read_sa(const Node* n, const std::string& path, bool ike, SaSettings& out) {
  if (n == nullptr) return;
  MapReader r(n, path, diag_);
  const Node* proposals = r.get("proposals");
  read_proposals(proposals, r.sub("proposals"), out.proposals);
  out.proposals_written = proposals != nullptr;
  const Node* rekey = r.get("rekey_time");
  const Node* rand = r.get("rand_time");
  const Node* life = r.get("life_time");
  const Node* over = r.get("over_time");
  read_duration(rekey, r.sub("rekey_time"), 0ms, out.rekey_time);
  read_duration(rand, r.sub("rand_time"), 0ms, out.rand_time);
  milliseconds d{0};
  if (read_duration(life, r.sub("life_time"), 1s, d)) out.life_time = d;
  if (read_duration(over, r.sub("over_time"), 0ms, d)) out.over_time = d;
  if (ike) read_duration(r.get("reauth_time"), r.sub("reauth_time"), 0ms, out.reauth_time);
  check_lifetimes(out, path, life, over, rand);
}

// life > rekey (or reauth), life = rekey + over when both given, rand within over.
void Validator::check_lifetimes(const SaSettings& sa, const std::string& path, const Node* life,
                                const Node* over, const Node* rand) {
  const milliseconds base = std::max(sa.rekey_time, sa.reauth_time);
  const char* base_name = sa.reauth_time > sa.rekey_time ? "reauth_time" : "rekey_time";
  if (sa.life_time && base > 0ms && *sa.life_time <= base) {
    diag_.add(life->origin, path + ".life_time: " + format_duration(*sa.life_time) +
                                " must be longer than " + base_name + " (" +
                                format_duration(base) + ")");
    return;
  }
  if (sa.life_time && sa.over_time && *sa.life_time != base + *sa.over_time) {
    diag_.add(over->origin, path + ".over_time: " + format_duration(*sa.over_time) +
                                " disagrees with life_time - " + base_name + " (" +
                                format_duration(*sa.life_time - base) + "); give only one of them");
    return;
  }
  milliseconds margin = sa.over_time   ? *sa.over_time
                        : sa.life_time ? *sa.life_time - base
                                       : milliseconds((base.count() + 9) / 10);
  if (base > 0ms && sa.rand_time > margin) {
    diag_.add(rand->origin, path + ".rand_time: " + format_duration(sa.rand_time) +
                                " must be at most life_time - " + base_name + " (" +
                                format_duration(margin) + ")");
  }
}

}  // namespace ist::scenario::validation
