# The vm library's pure parts (protocol framing, module order, cpio, bzImage header).
ist_gtest(vm_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm_test.cpp
  LIBS ist_vm
  LABELS unit)
