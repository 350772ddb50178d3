# Native IKEv2 initiator against a real charon SUT (root; label privileged).
ist_gtest(native_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/native_interop_test.cpp
  LIBS ist_native ist_charon ist_netns ist_vici
  LABELS privileged
  # charon races its own CHILD and IKE rekeys at 2 s / 5 s lifetimes on a loaded host, and
  # the peer answers a CREATE_CHILD_SA during its own IKE rekey with TEMPORARY_FAILURE
  # (RFC 7296 2.8.2 not handled yet): flaky under parallel ctest, so `long` only.
  LONG_TESTS NativeInterop.AnswersTheSutsOwnRekeysInAShortLifetimeHold
  TIMEOUT 180)
