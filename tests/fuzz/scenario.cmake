# Scenario parser (owner: scenario). Seeds: tests/fuzz/corpus/fuzz_scenario_parser/ (the
# shipped scenarios and the test fixtures).
ist_fuzz_target(fuzz_scenario_parser
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_scenario_parser.cpp
  LIBS ist_scenario)
