# ESP in userspace (owner: esp): RFC 4303/4106/3602/4868 packets against independently built
# ones (tests/unit/esp_vectors.py), round trips, damaged packets, the anti-replay window.
ist_gtest(esp_unit_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/esp_test.cpp
  LIBS ist_ike_esp
  LABELS unit)
# The data plane against an in-process stand-in for the SUT's ESP, and the echo sink on loopback.
ist_gtest(esp_data_plane_tests
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/esp_data_plane_test.cpp
  LIBS ist_dataplane
  LABELS unit)
