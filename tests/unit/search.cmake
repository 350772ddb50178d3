# Capacity search: the axis in the key's units, bracketing, bisection, K trials in a row.
ist_gtest(search_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/search_test.cpp LIBS ist_search LABELS unit)
