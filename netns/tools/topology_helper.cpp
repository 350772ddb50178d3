// ist_topology_helper: builds the default topology from the netns library, for tests that
// need a real process to kill (tests/e2e/test_netns_kill.py) and for quick manual checks.
//
//   ist_topology_helper [--peers N] [--cycles N] [--ipv6] [--hold]
//
// Prints "run <runid>" first, then "built <n> <seconds>" after each build. With --cycles it
// builds and tears down N times; with --hold it builds once and keeps the topology until
// stdin closes. Exit codes: 0 done, 1 harness fault, 2 bad arguments.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/run_state.hpp"
#include "netns/topology.hpp"

namespace {

int usage() {
  std::fprintf(stderr, "usage: ist_topology_helper [--peers N] [--cycles N] [--ipv6] [--hold]\n");
  return 2;
}

bool parse_count(const char* text, std::size_t& out) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(text, &end, 10);
  if (!text[0] || *end) return false;
  out = static_cast<std::size_t>(v);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  ist::netns::TopologySpec spec;
  spec.peer_count = 100;
  std::size_t cycles = 1;
  bool hold = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--peers" && i + 1 < argc) {
      if (!parse_count(argv[++i], spec.peer_count)) return usage();
    } else if (a == "--cycles" && i + 1 < argc) {
      if (!parse_count(argv[++i], cycles) || cycles == 0) return usage();
    } else if (a == "--ipv6") {
      spec.ipv6 = true;
    } else if (a == "--hold") {
      hold = true;
    } else {
      return usage();
    }
  }

  auto state = ist::RunState::create(ist::new_run_id());
  if (!state) {
    std::fprintf(stderr, "ist_topology_helper: %s\n", state.error().describe().c_str());
    return 1;
  }
  std::printf("run %s\n", state->run_id().c_str());
  std::fflush(stdout);

  for (std::size_t n = 1; n <= cycles; ++n) {
    auto topo = ist::netns::Topology::build(*state, spec);
    if (!topo) {
      std::fprintf(stderr, "ist_topology_helper: %s\n", topo.error().describe().c_str());
      // The build rolled itself back; keep the state folder only if something is left.
      if (auto live = state->live_resources(); live && live->empty()) (void)state->remove();
      return 1;
    }
    const auto& t = topo->timings();
    std::printf("built %zu %.3f namespaces %.3f link %.3f addresses %.3f\n", n, t.total_s, t.namespaces_s,
                t.link_s, t.addresses_s);
    std::fflush(stdout);
    if (hold) {
      char c;
      while (::read(STDIN_FILENO, &c, 1) > 0) {
      }
    }
    if (auto st = topo->teardown(); !st) {
      std::fprintf(stderr, "ist_topology_helper: %s\n", st.error().describe().c_str());
      return 1;
    }
  }
  if (auto st = state->remove(); !st) {
    std::fprintf(stderr, "ist_topology_helper: %s\n", st.error().describe().c_str());
    return 1;
  }
  return 0;
}
