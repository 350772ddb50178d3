// Log parser throughput on the recorded real logs (tests/fixtures/logs), repeated to ~64 MB
// so the measurement is not cache-bound by a small file. Reports lines/s (items_per_second).
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "charon/log_parser.hpp"

namespace {

std::string load(const char* rel) {
  std::ifstream f(std::string(IST_FIXTURES_DIR) + "/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Level 1 logs of both sides, all cases: the mix a gateway's log at default level has.
const std::string& level1_text() {
  static const std::string text = [] {
    std::string one;
    for (const char* c : {"normal", "ikesa-limit", "wrong-psk", "proposal-mismatch", "ts-mismatch",
                          "rekey", "rekey-collision", "cookie", "half-open-limit"}) {
      one += load((std::string(c) + "/responder.log").c_str());
      one += load((std::string(c) + "/initiator.log").c_str());
    }
    std::string all;
    while (all.size() < (64u << 20)) all += one;
    return all;
  }();
  return text;
}

const std::string& level2_text() {
  static const std::string text = [] {
    std::string one = load("ikesa-limit-level2/responder.log") + load("normal-level2/responder.log");
    std::string all;
    while (all.size() < (64u << 20)) all += one;
    return all;
  }();
  return text;
}

void run_parse(benchmark::State& state, const std::string& text) {
  std::size_t lines = 0;
  for (auto _ : state) {
    std::size_t n = 0, interesting = 0;
    ist::charon::for_each_log_line(text, [&](const ist::charon::LogEvent& e) {
      ++n;
      interesting += e.kind != ist::charon::LogEventKind::other;
    });
    benchmark::DoNotOptimize(interesting);
    lines += n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(lines));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void run_join(benchmark::State& state, const std::string& text) {
  std::size_t lines = 0;
  for (auto _ : state) {
    ist::charon::LogJoiner joiner;
    std::size_t emitted = 0;
    auto sink = [&](const ist::charon::JoinedLogEvent&) { ++emitted; };
    ist::charon::for_each_log_line(text, [&](const ist::charon::LogEvent& e) { joiner.feed(e, sink); });
    joiner.finish(sink);
    benchmark::DoNotOptimize(emitted);
    lines += joiner.charon_lines() + joiner.other_lines();
  }
  state.SetItemsProcessed(static_cast<int64_t>(lines));
}

void BM_ParseLevel1(benchmark::State& s) { run_parse(s, level1_text()); }
void BM_ParseLevel2(benchmark::State& s) { run_parse(s, level2_text()); }
void BM_ParseAndJoinLevel1(benchmark::State& s) { run_join(s, level1_text()); }

}  // namespace

BENCHMARK(BM_ParseLevel1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseLevel2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ParseAndJoinLevel1)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
