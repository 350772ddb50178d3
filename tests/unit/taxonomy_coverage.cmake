ist_gtest(unit_taxonomy_coverage
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/taxonomy_coverage_test.cpp
  LIBS ist_taxonomy
  LABELS unit)
# The test checks that the scenario files the coverage table names exist in the source tree.
target_compile_definitions(unit_taxonomy_coverage PRIVATE IST_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
