# Native IKEv2 engine: key exchange + derivation, codec, SK seal/open (owner: native).
# Figures: bench/README.md "native engine".
add_executable(bench_native ${CMAKE_CURRENT_LIST_DIR}/native_bench.cpp)
target_link_libraries(bench_native PRIVATE ist_ike benchmark::benchmark ist_warnings)
