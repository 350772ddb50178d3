# Log parser and classification rules (owner: classify).
ist_gtest(unit_classify
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/logparser_test.cpp ${CMAKE_CURRENT_LIST_DIR}/log_messages_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/log_classify_test.cpp ${CMAKE_CURRENT_LIST_DIR}/taxonomy_rules_test.cpp
  LIBS ist_charon ist_taxonomy
  LABELS unit)
target_compile_definitions(unit_classify PRIVATE IST_FIXTURES_DIR="${IST_SOURCE_DIR}/tests/fixtures/logs")
