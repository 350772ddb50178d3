# Impairments for the native engine (owner: impair): datagram inspection, seeded peer
# selection, rule matching, malformed-message generator, and the ImpairedIo decorator
# around a fake PacketIo on a real EventLoop.
ist_gtest(impair_unit_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/impair_plan_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/impair_malformed_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/impair_io_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/impair_flood_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/impair_layers_test.cpp
  LIBS ist_native_impair
  LABELS unit)

