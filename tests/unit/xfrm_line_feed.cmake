# The guest kernel's XFRM lines read back (owner: vmobs): harness/xfrm/line_feed.
ist_gtest(xfrm_line_feed_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/xfrm_line_feed_test.cpp
  LIBS ist_xfrm
  LABELS unit)
