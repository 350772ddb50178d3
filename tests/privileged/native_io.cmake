# The native engine's shared packet layer (owner: nativeio): RawPrefixIo in a real topology
# built without per-peer addresses (root; label privileged).
ist_gtest(native_io_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/native_io_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netns_support.cpp
  LIBS ist_native_io ist_netns
  LABELS privileged
  TIMEOUT 60)
