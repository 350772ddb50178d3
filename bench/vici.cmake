# vici codec throughput: small messages and a 5,000-entry list-conns stream (owner: vici).
# Figures: bench/README.md "vici".
add_executable(bench_vici ${CMAKE_CURRENT_LIST_DIR}/vici_bench.cpp)
target_link_libraries(bench_vici PRIVATE ist_vici benchmark::benchmark ist_warnings)
