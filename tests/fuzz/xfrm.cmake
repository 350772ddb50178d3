# XFRM netlink parser (owner: xfrm). Seeds: tests/fuzz/corpus/fuzz_xfrm_parser/ (the recorded
# datagrams of tests/fixtures/xfrm as binary files).
ist_fuzz_target(fuzz_xfrm_parser
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/fuzz_xfrm_parser.cpp
  LIBS ist_xfrm)
