# vici: codec, message model, session against a fake server, typed command parsing.
file(GLOB IST_VICI_UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/vici_*_test.cpp)
ist_gtest(vici_unit_tests
  SOURCES ${IST_VICI_UNIT_SOURCES}
  LIBS ist_vici
  LABELS unit)
