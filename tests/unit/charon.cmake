# charon: strongswan.conf and swanctl/vici generation (no daemon needed).
file(GLOB IST_CHARON_UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/charon_*_test.cpp)
ist_gtest(charon_unit_tests
  SOURCES ${IST_CHARON_UNIT_SOURCES}
  LIBS ist_charon
  LABELS unit)
