# NativeFleet (owner: nativefleet): proposal mapping, and the engine on loopback in a private
# network namespace against a silent SUT socket (retransmits, give-up text, terminate).
ist_gtest(native_fleet_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/native_fleet_unit.cpp
  LIBS ist_native_fleet
  LABELS unit)
