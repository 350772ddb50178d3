# The vm SUT's pure parts: the guest charon's strongswan.conf and the ESP warm-up commands.
ist_gtest(vm_sut_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm_sut_conf_test.cpp
  LIBS ist_run
  LABELS unit)
