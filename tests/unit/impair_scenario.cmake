# peers.impair / peers.flood in scenario files.
ist_gtest(impair_scenario_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/impair_scenario_test.cpp
  LIBS ist_scenario
  LABELS unit)
target_compile_definitions(impair_scenario_unit_tests PRIVATE IST_SOURCE_DIR="${IST_SOURCE_DIR}")

# Late CHILD rekeys (delayed CREATE_CHILD_SA answers) -> QM_DELAY_DROP observations.
ist_gtest(impair_deadline_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/impair_deadline_test.cpp
  LIBS ist_run
  LABELS unit)

# Malformed messages: the SUT's log lines and the peers' notifies -> payload codes.
ist_gtest(impair_taxonomy_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/impair_taxonomy_test.cpp
  LIBS ist_run
  LABELS unit)

# A Windows code only from evidence: unclassified, harness faults, abandoned attempts, lost peers.
ist_gtest(classify_evidence_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/classify_evidence_test.cpp
  LIBS ist_run
  LABELS unit)
