# XFRM observer (owner: xfrm): parser on recorded kernel messages, xfrm_stat.
ist_gtest(xfrm_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/xfrm_message_test.cpp ${CMAKE_CURRENT_LIST_DIR}/xfrm_stat_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/xfrm_console_test.cpp
  LIBS ist_xfrm
  LABELS unit)
target_include_directories(xfrm_unit_tests PRIVATE ${CMAKE_CURRENT_LIST_DIR})
target_compile_definitions(xfrm_unit_tests PRIVATE IST_XFRM_FIXTURES="${IST_SOURCE_DIR}/tests/fixtures/xfrm")
# Kernel events in the run classifier's input (run::kernel_observations).
ist_gtest(xfrm_classify_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/xfrm_classify_test.cpp
  LIBS ist_run
  LABELS unit)
