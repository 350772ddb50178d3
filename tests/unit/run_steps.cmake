# The steps run_point() composes (harness/run/point_steps.hpp): the parts that are logic.
ist_gtest(run_steps_tests SOURCES ${CMAKE_CURRENT_LIST_DIR}/run_steps_test.cpp LIBS ist_run LABELS unit)
