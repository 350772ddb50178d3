# Topology build time by peer count (owner: netns; needs root). Figures: bench/README.md "netns".
add_executable(bench_netns ${CMAKE_CURRENT_LIST_DIR}/netns_bench.cpp)
target_link_libraries(bench_netns PRIVATE ist_netns benchmark::benchmark ist_warnings)
