#include "scenario/nearest.hpp"

#include <algorithm>

namespace ist::scenario {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // Optimal string alignment distance, three rows.
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (std::size_t j = 0; j <= m; ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
      }
    }
    prev2.swap(prev);
    prev.swap(cur);
  }
  return prev[m];
}

std::optional<std::string> nearest(std::string_view word,
                                   const std::vector<std::string>& candidates) {
  if (word.size() > 200) return std::nullopt;  // not a typo, and keeps hostile input cheap
  const std::string* best = nullptr;
  std::size_t best_d = 0;
  for (const auto& c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (best == nullptr || d < best_d) {
      best = &c;
      best_d = d;
    }
  }
  if (best == nullptr) return std::nullopt;
  const std::size_t limit = std::max<std::size_t>(2, word.size() / 3);
  if (best_d == 0 || best_d > limit) return std::nullopt;
  return *best;
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  auto n = nearest(word, candidates);
  return n ? "; did you mean '" + *n + "'?" : std::string();
}

std::vector<std::string> nearest_paths(std::string_view word, const std::vector<std::string>& candidates) {
  std::vector<std::string> out;
  if (word.size() >= 3) {  // shorter says nothing about which was meant
    for (const auto& c : candidates) {
      const bool continues = c.size() > word.size() && c.compare(0, word.size(), word) == 0 &&
                             (c[word.size()] == '_' || c[word.size()] == '.');
      if (continues) out.push_back(c);
    }
  }
  if (out.empty()) {
    if (auto n = nearest(word, candidates)) out.push_back(*n);
  }
  return out;
}

std::string did_you_mean_path(std::string_view word, const std::vector<std::string>& candidates) {
  constexpr std::size_t kMaxListed = 4;
  const auto near = nearest_paths(word, candidates);
  if (near.empty() || near.size() > kMaxListed) return "";
  if (near.size() == 1) return "; did you mean '" + near.front() + "'?";
  std::string list;
  for (const auto& n : near) list += (list.empty() ? "'" : ", '") + n + "'";
  return "; did you mean one of " + list + "?";
}

}  // namespace ist::scenario
