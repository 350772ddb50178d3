// XFRM observer costs on one core.
//   ParseAcquire:        parse one recorded ACQUIRE datagram (the storm case)
//   ParsePolicyDump:     walk + parse a recorded GETPOLICY dump datagram (3 policies + DONE)
//   AcquireToJsonLine:   parse + render the --json line of an ACQUIRE
//   SampleCurrentNetns:  one Sampler::sample() in the calling namespace (GETSADINFO +
//                        GETSPDINFO + xfrm_stat pread): the per-second, per-namespace cost of
//                        the run observer. Read-only; needs root (CAP_NET_ADMIN).
#include <benchmark/benchmark.h>

#include "../tests/unit/xfrm_fixture.hpp"
#include "xfrm/json_lines.hpp"
#include "xfrm/message.hpp"
#include "xfrm/sampler.hpp"

namespace ist::xfrm {
namespace {

void ParseAcquire(benchmark::State& state) {
  auto d = test::load_fixture("acquire_v4").at(0);
  for (auto _ : state) {
    auto m = parse_message(d);
    benchmark::DoNotOptimize(m);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * d.size()));
}
BENCHMARK(ParseAcquire);

void ParsePolicyDump(benchmark::State& state) {
  auto d = test::load_fixture("policy_dump").at(0);
  int64_t messages = 0;
  for (auto _ : state) {
    (void)for_each_message(d, [&](Result<Message> m) {
      benchmark::DoNotOptimize(m);
      ++messages;
    });
  }
  state.SetItemsProcessed(messages);
}
BENCHMARK(ParsePolicyDump);

void AcquireToJsonLine(benchmark::State& state) {
  auto d = test::load_fixture("acquire_v4").at(0);
  for (auto _ : state) {
    auto m = parse_message(d);
    auto line = event_json(Event{{}, *m}, {}, "sut").dump();
    benchmark::DoNotOptimize(line);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(AcquireToJsonLine);

void SampleCurrentNetns(benchmark::State& state) {
  auto s = Sampler::open(current_netns_runner());
  if (!s) {
    state.SkipWithError(s.error().describe().c_str());
    return;
  }
  for (auto _ : state) {
    auto x = s->sample(SteadyClock::instance().now());
    if (!x) {
      state.SkipWithError(x.error().describe().c_str());
      return;
    }
    benchmark::DoNotOptimize(x);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(SampleCurrentNetns);

}  // namespace
}  // namespace ist::xfrm

BENCHMARK_MAIN();
