// libFuzzer target: arbitrary bytes through the charon log parser, the joiner and the
// log -> classifier adapter and classifier. Also checks the parser's view invariants.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "charon/log_parser.hpp"
#include "taxonomy/classifier.hpp"
#include "charon/log_observations.hpp"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<ist::taxonomy::ObservedEvent> events;
  ist::charon::LogJoiner joiner;
  auto sink = [&](const ist::charon::JoinedLogEvent& j) {
    if (auto e = ist::charon::observe_charon_log_event(j, ist::taxonomy::Side::responder))
      events.push_back(std::move(*e));
  };
  ist::charon::for_each_log_line(text, [&](const ist::charon::LogEvent& e) {
    // every view points into the line it came from
    if (!inside(e.raw, text) || !inside(e.message, e.raw) || !inside(e.conn, e.raw) ||
        !inside(e.address, e.raw) || !inside(e.local, e.raw) || !inside(e.detail, e.raw))
      std::abort();
    if (e.kind != ist::charon::LogEventKind::other && !ist::charon::is_charon_line(e)) std::abort();
    joiner.feed(e, sink);
  });
  joiner.finish(sink);
  auto c = ist::taxonomy::Classifier().classify(events);
  if (c.failures.size() + c.informational.size() + c.unclassified.size() > events.size()) std::abort();
  return 0;
}
