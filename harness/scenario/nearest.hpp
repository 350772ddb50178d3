#pragma once
// "did you mean ...?" for misspelt keys: the candidate with the smallest edit distance.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ist::scenario {

// Levenshtein distance (insert, delete, substitute; an adjacent swap counts as one).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate when it is close enough to be a plausible typo (distance at most
// max(2, length/3)); nullopt otherwise.
std::optional<std::string> nearest(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?" or "" — ready to append to a message.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// For dotted paths of snake_case names (expect's summary paths): the candidates that continue
// the word at a '_' or '.' ("setup_rate" -> "setup_rate_per_s", "rekeys" -> "rekeys.ike",
// "rekeys.child"); otherwise nearest(). Empty when none fits.
std::vector<std::string> nearest_paths(std::string_view word, const std::vector<std::string>& candidates);

// "; did you mean 'x'?", "; did you mean one of 'x', 'y'?" or "".
std::string did_you_mean_path(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace ist::scenario
