#pragma once
// Turns a timeline of ObservedEvents into failure records with Windows codes.
//
// Events matched by the same rule, on the same side and SA kind, with the same non-empty
// `attempt` key, become one record (evidence appended, occurrences summed): a refused peer's
// retransmitted IKE_SA_INITs are one attempt when the source can key them (level-2 SPI,
// initiator unique id); otherwise each event is one attempt. Per code, `attempts` counts
// records (plus extra `count` of unkeyed counter events) and `peers` distinct addresses (else
// peer names), or nullopt when a record has neither.
#include <span>

#include "taxonomy/codes.hpp"
#include "taxonomy/failure.hpp"
#include "taxonomy/rules.hpp"

namespace ist::taxonomy {

class Classifier {
 public:
  // `codes` and `table` must outlive the classifier.
  explicit Classifier(const CodeTable& codes = CodeTable::instance(),
                      std::span<const Rule> table = rules());

  // Events in any order; records come out sorted by t_ms of their first event.
  Classification classify(std::span<const ObservedEvent> events) const;

 private:
  const CodeTable& codes_;
  std::span<const Rule> table_;
};

inline constexpr std::size_t kMaxEvidencePerRecord = 16;

}  // namespace ist::taxonomy
