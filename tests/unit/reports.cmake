ist_gtest(reports_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/reports_test.cpp LIBS ist_reports LABELS unit)
