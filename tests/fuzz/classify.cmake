# Charon log parser (owner: classify). Seeds: tests/fuzz/corpus/fuzz_charon_log_parser/.
ist_fuzz_target(fuzz_charon_log_parser
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_charon_log_parser.cpp
  LIBS ist_charon ist_taxonomy)
