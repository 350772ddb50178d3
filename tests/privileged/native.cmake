# Native IKEv2 initiator against a real charon SUT (root; label privileged): interop per
# suite, rekeys in both directions with crossing exchanges (RFC 7296 2.8.1, 2.8.2, 2.25),
# short-lifetime holds, and 1,000 peers from one loop.
ist_gtest(native_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/native_interop_test.cpp
  LIBS ist_ike ist_charon ist_netns ist_vici
  LABELS privileged
  TIMEOUT 180)
