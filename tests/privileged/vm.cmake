# The vm backend's guest under qemu (TCG here): needs root, qemu-system-x86, a distro kernel
# with its modules and busybox-static. Boots one guest for the suite.
ist_gtest(vm_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm_guest_test.cpp
  LIBS ist_vm
  LABELS privileged
  TIMEOUT 120)
