# netns: address plan, parsing, privilege check, impairment validation and nft scripts
# (everything that needs no root; the kernel side is in tests/privileged/netns.cmake).
ist_gtest(netns_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/netns_address_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netns_config_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/netns_target_test.cpp ${CMAKE_CURRENT_LIST_DIR}/netns_target_host_check_test.cpp
  LIBS ist_netns
  LABELS unit)
