# Native IKEv2 engine (owner: native): codec, crypto vectors, initiator state machine.
file(GLOB IST_NATIVE_UNIT_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/native_*_test.cpp)
ist_gtest(native_unit_tests
  SOURCES ${IST_NATIVE_UNIT_SOURCES}
  LIBS ist_ike
  LABELS unit)
