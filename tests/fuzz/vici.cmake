ist_fuzz_target(fuzz_vici_decoder
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_vici_decoder.cpp
  LIBS ist_vici)
