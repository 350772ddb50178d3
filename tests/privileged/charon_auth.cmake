# charon authentication: certificates (ecdsa, rsa), EAP-MSCHAPv2 and a user-style gateway
# config, each establishing a tunnel between real daemons (root; label privileged).
file(GLOB IST_CHARON_AUTH_PRIV_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/charon_auth*_test.cpp)
ist_gtest(charon_auth_privileged_tests
  SOURCES ${IST_CHARON_AUTH_PRIV_SOURCES}
  LIBS ist_charon ist_netns
  LABELS privileged
  TIMEOUT 300)
target_compile_definitions(charon_auth_privileged_tests PRIVATE
  IST_GATEWAY_FIXTURE_DIR="${IST_SOURCE_DIR}/tests/fixtures/gateway")
