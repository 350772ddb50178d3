# XFRM observer against this kernel (owner: xfrm): needs root; namespace ist-<runid>-xfrmobs.
ist_gtest(xfrm_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/xfrm_observer_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netns_support.cpp
  LIBS ist_xfrm ist_netns
  LABELS privileged
  TIMEOUT 60)
