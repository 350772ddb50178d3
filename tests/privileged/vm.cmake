# The vm backend's guest under qemu (TCG here): needs root, qemu-system-x86, a distro kernel
# with its modules and busybox-static. ctest runs each test in its own process, and each
# boot costs 10-20 s under TCG: the default run has the smoke test (boot, stock kernel, a real
# ESP state, clean shutdown); the rest share one guest per process and are `long`.
ist_gtest(vm_privileged_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/vm_guest_test.cpp
  LIBS ist_vm
  LABELS privileged
  LONG_TESTS VmGuestTest.RunsTheStockKernel VmGuestTest.HoldsRealEspStates
             VmGuestTest.ExecReportsStatusOutputAndLimits VmGuestTest.BackgroundProcessIsSpawnedPolledAndSignalled
             VmGuestTest.FilesRoundTripAndTheHostRootIsReadOnlyBelow
             VmGuestTest.GuestIsReachableThroughTheTapInItsNamespace
  TIMEOUT 120)
