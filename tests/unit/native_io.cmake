# The native engine's I/O pieces that need no privileges (owner: nativeio): the timer wheel,
# the raw prefix layer's packet building and parsing.
# (Not named native_*_test.cpp: native.cmake globs those into native_unit_tests.)
ist_gtest(native_io_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/nativeio_timer_wheel_test.cpp ${CMAKE_CURRENT_LIST_DIR}/nativeio_packet_test.cpp
  LIBS ist_native_io
  LABELS unit)
