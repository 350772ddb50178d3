# vici against a real charon in a private namespace (root; label privileged).
ist_gtest(vici_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vici_charon_test.cpp
  LIBS ist_vici
  LABELS privileged
  TIMEOUT 120)
