#pragma once
// Offline classification of charon logs a user already has (`ikestorm classify`): read each
// log, tell whose side wrote it, join its lines, turn them into observations, classify them
// all together, and render the result as the report document or the console table.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "taxonomy/classifier.hpp"
#include "taxonomy/observed_event.hpp"

namespace ist::charon {

// One log as it was read.
struct LogSource {
  std::string path;
  taxonomy::Side side = taxonomy::Side::responder;
  bool side_detected = true;          // false: no line showed the side; taken as the responder
  std::size_t lines = 0;              // complete lines read
  std::size_t charon_lines = 0;       // of them with charon's `NN[GRP] ` prefix
  bool incomplete_last_line = false;  // the last line had no line end and was left out
};

// Observations of one log's text, appended to `out`. `side` forces whose log it is; without
// it a log with responder lines ('<ip> is initiating an IKE_SA', limit drops, cookies) is the
// SUT's and one that mostly initiates a peer's. Attempt keys are prefixed with the path (unique
// ids are per daemon). An Error says why text that holds no charon line is not a charon log.
Result<LogSource> observe_log_text(std::string_view text, const std::string& path,
                                   std::optional<taxonomy::Side> side,
                                   std::vector<taxonomy::ObservedEvent>& out);
// The same for a file (an Error also for one that cannot be read).
Result<LogSource> observe_log_file(const std::string& path, std::optional<taxonomy::Side> side,
                                   std::vector<taxonomy::ObservedEvent>& out);

struct LogClassification {
  std::vector<LogSource> sources;
  taxonomy::Classification result;
};

// Classifies the observations of all logs together; t_ms then counts from the earliest
// timestamped event (logs without timestamps give 0).
LogClassification classify_observations(std::vector<LogSource> sources,
                                        std::vector<taxonomy::ObservedEvent> events);

// The report document (report.json of `ikestorm classify --out`): sources, codes,
// informational, failures, informational_records, unclassified, attribution.
nlohmann::json log_classification_json(const LogClassification& c);

// What `ikestorm classify` prints: each source, the table of codes (attempts, peers, '?' when
// the log cannot tell peers apart), and what the log can attribute per rule.
std::string log_classification_table(const LogClassification& c);

}  // namespace ist::charon
