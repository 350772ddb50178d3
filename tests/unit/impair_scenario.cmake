# peers.impair / peers.flood in scenario files.
ist_gtest(impair_scenario_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/impair_scenario_test.cpp
  LIBS ist_scenario
  LABELS unit)
target_compile_definitions(impair_scenario_unit_tests PRIVATE IST_SOURCE_DIR="${IST_SOURCE_DIR}")
