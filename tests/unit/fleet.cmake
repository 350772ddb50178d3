ist_gtest(fleet_logic_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/fleet_logic_test.cpp LIBS ist_fleet LABELS unit)
