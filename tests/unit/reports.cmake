ist_gtest(reports_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_test.cpp LIBS ist_reports LABELS unit)
ist_gtest(reports_stats_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_stats_test.cpp LIBS ist_reports LABELS unit)
ist_gtest(reports_render_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_render_test.cpp LIBS ist_reports LABELS unit)
ist_gtest(reports_compare_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_compare_test.cpp LIBS ist_reports LABELS unit)
ist_gtest(reports_merge_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_merge_test.cpp LIBS ist_reports LABELS unit)
ist_gtest(reports_timeline_metrics_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_timeline_metrics_test.cpp LIBS ist_reports LABELS unit)
ist_gtest(reports_merge_generators_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_merge_generators_test.cpp
  LIBS ist_reports LABELS unit)
