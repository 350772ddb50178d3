# Native IKEv2 initiator against a real charon SUT (root; label privileged).
ist_gtest(native_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/native_interop_test.cpp
  LIBS ist_native ist_charon ist_netns ist_vici
  LABELS privileged
  TIMEOUT 180)
