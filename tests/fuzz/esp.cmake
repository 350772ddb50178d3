# ESP decapsulation and the inner IPv4/UDP parser (owner: esp). Seeds:
# tests/fuzz/corpus/fuzz_esp_decap/ (first byte: mode, see the target's header comment).
ist_fuzz_target(fuzz_esp_decap
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_esp_decap.cpp
  LIBS ist_ike_esp)
