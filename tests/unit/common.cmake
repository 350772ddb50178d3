ist_gtest(unit_common
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/common_child_process_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/common_run_state_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/common_event_loop_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/common_cleanup_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/common_file_write_test.cpp
  LIBS ist_common
  LABELS unit)
