# VmSut on a real topology: a kernel-netlink charon in a qemu guest (TCG here) bridged into
# the SUT namespace, answering vici over TCP. Boots one guest (~20 s under TCG).
ist_gtest(vm_sut_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm_sut_test.cpp
  LIBS ist_run
  LABELS privileged
  TIMEOUT 180)
