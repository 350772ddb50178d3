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


# The validator's typed peers.impair / peers.flood mapped to the native engine's rules.
ist_gtest(impair_native_rules_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/impair_native_rules_test.cpp
  LIBS ist_run ist_scenario
  LABELS unit)
target_compile_definitions(impair_native_rules_unit_tests PRIVATE IST_SOURCE_DIR="${IST_SOURCE_DIR}")
