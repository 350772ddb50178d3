#pragma once
// The classifier's output: failure records (docs/design.md, "Report contract", `failures[]`), kept
// apart from informational records, plus per-code counts of attempts and peers.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "taxonomy/observed_event.hpp"

namespace ist::taxonomy {

struct CodeRef {
  std::string name;    // ERROR_IPSEC_IKE_MM_LIMIT
  uint32_t value = 0;  // 13882
  std::string hex;     // 0x363A
};

struct FailureRecord {
  std::string peer;      // "" when the evidence cannot tell peers apart
  std::string address;   // "" when unknown
  Side side = Side::responder;
  SaKind sa = SaKind::ike;
  std::string exchange;
  int64_t t_ms = 0;      // of the first event merged into this record
  CodeRef code;
  bool exact = true;
  bool informational = false;
  std::string rule;      // id of the rule that produced it (rules.hpp)
  uint64_t occurrences = 1;  // events (e.g. retransmitted requests) merged into this record
  std::vector<std::string> evidence;
};

struct CodeCount {
  uint64_t attempts = 0;
  // Distinct peers (by address, else peer name); nullopt when some record has neither, i.e.
  // the evidence cannot tell the peers apart (the level-1 IKE_SA-limit line).
  std::optional<uint64_t> peers;
};

struct Classification {
  std::vector<FailureRecord> failures;       // in order of first occurrence
  std::vector<FailureRecord> informational;  // DOS_COOKIE_SENT, deletes received, ...
  std::map<std::string, CodeCount> codes;                // failures by code name
  std::map<std::string, CodeCount> informational_codes;  // informational by code name
  std::vector<ObservedEvent> unclassified;   // events no rule matched
};

}  // namespace ist::taxonomy
