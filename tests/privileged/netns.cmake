# netns against the real kernel: needs root; builds private namespaces named ist-<runid>-*.
ist_gtest(netns_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/netns_namespace_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netns_topology_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/netns_impairment_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netns_link_test.cpp
          ${CMAKE_CURRENT_LIST_DIR}/netns_support.cpp
  LIBS ist_netns
  LABELS privileged
  TIMEOUT 60)
