# Scenario files: parsing, validation messages, overrides, sweeps, time_scale, expectations.
ist_gtest(scenario_unit_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/scenario_units_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scenario_parse_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scenario_malformed_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scenario_override_sweep_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scenario_effective_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scenario_expect_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/scenario_target_test.cpp
  LIBS ist_scenario
  LABELS unit)
target_compile_definitions(scenario_unit_tests PRIVATE IST_SOURCE_DIR="${IST_SOURCE_DIR}")
