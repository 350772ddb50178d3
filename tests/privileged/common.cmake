# common against the real kernel (root): child processes in named namespaces, clean of real
# namespaces and processes, the host probe. Names namespaces ist-<runid>-*.
ist_gtest(common_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/common_privileged_test.cpp
  LIBS ist_common
  LABELS privileged
  TIMEOUT 120)
