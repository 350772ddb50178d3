# Charon log parser throughput (owner: classify). Figures: bench/README.md "Log parser".
add_executable(bench_logparser ${CMAKE_CURRENT_LIST_DIR}/logparser_bench.cpp)
target_link_libraries(bench_logparser PRIVATE ist_charon benchmark::benchmark ist_warnings)
target_compile_definitions(bench_logparser PRIVATE IST_FIXTURES_DIR="${IST_SOURCE_DIR}/tests/fixtures/logs")
