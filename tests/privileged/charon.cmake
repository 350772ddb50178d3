# charon: real daemons in private namespaces (root; label privileged).
ist_gtest(charon_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/charon_instance_test.cpp
  LIBS ist_charon ist_netns
  LABELS privileged
  TIMEOUT 180)
