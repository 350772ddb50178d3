ist_gtest(unit_taxonomy_codes
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/taxonomy_codes_test.cpp
  LIBS ist_taxonomy
  LABELS unit)
