# The auth and gateway unit tests are compiled into charon_unit_tests (charon.cmake globs
# charon_*_test.cpp); the gateway tests read the operator-style fixture.
if(TARGET charon_unit_tests)
  target_compile_definitions(charon_unit_tests PRIVATE
    IST_GATEWAY_FIXTURE_DIR="${IST_SOURCE_DIR}/tests/fixtures/gateway")
endif()
