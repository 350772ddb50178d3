# The native engine's I/O pieces that need no privileges (owner: nativeio): the timer wheel.
ist_gtest(native_io_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/native_io_timer_wheel_test.cpp
  LIBS ist_native_io
  LABELS unit)
