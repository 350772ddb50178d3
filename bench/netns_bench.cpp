// Wall time to build the default topology (two namespaces, veth, 2 x N peer addresses,
// routes, sysctls) by peer count, and to tear it down. Needs root.
//   bench_netns [--benchmark_filter=...]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>

#include "common/run_state.hpp"
#include "netns/topology.hpp"

namespace {

using Clock = std::chrono::steady_clock;

void BM_TopologyBuild(benchmark::State& st) {
  if (::geteuid() != 0) {
    st.SkipWithError("needs root");
    return;
  }
  auto run = ist::RunState::create(ist::new_run_id());
  if (!run) {
    st.SkipWithError(run.error().describe().c_str());
    return;
  }
  ist::netns::TopologySpec spec;
  spec.peer_count = static_cast<std::size_t>(st.range(0));
  spec.ipv6 = st.range(1) != 0;
  double teardown_s = 0;
  for (auto _ : st) {
    auto t0 = Clock::now();
    auto topo = ist::netns::Topology::build(*run, spec);
    auto t1 = Clock::now();
    if (!topo) {
      st.SkipWithError(topo.error().describe().c_str());
      break;
    }
    st.SetIterationTime(std::chrono::duration<double>(t1 - t0).count());
    auto t2 = Clock::now();
    (void)topo->teardown();
    teardown_s += std::chrono::duration<double>(Clock::now() - t2).count();
  }
  st.counters["addresses"] = static_cast<double>(spec.peer_count * 2 * (spec.ipv6 ? 2 : 1));
  st.counters["teardown_ms"] = benchmark::Counter(teardown_s * 1000, benchmark::Counter::kAvgIterations);
  (void)run->remove();
}
BENCHMARK(BM_TopologyBuild)
    ->ArgsProduct({{100, 1000, 5000, 10000, 30000}, {0}})
    ->Args({1000, 1})
    ->Args({5000, 1})
    ->ArgNames({"peers", "ipv6"})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
