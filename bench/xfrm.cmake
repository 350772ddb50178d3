# XFRM observer: parser throughput and the cost of one per-second sample (owner: xfrm).
# Figures: bench/README.md "xfrm".
add_executable(bench_xfrm ${CMAKE_CURRENT_LIST_DIR}/xfrm_bench.cpp)
target_link_libraries(bench_xfrm PRIVATE ist_xfrm benchmark::benchmark ist_warnings)
target_compile_definitions(bench_xfrm PRIVATE IST_XFRM_FIXTURES="${IST_SOURCE_DIR}/tests/fixtures/xfrm")
