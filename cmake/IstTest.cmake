include(GoogleTest)

# Aggregates, so CI can build only what a step runs: the unit tests under ASan, the fuzzers
# under clang.
if(NOT TARGET ist_unit_tests)
  add_custom_target(ist_unit_tests)
  add_custom_target(ist_fuzz_targets)
endif()

# ist_gtest(NAME SOURCES ... LIBS ... [LABELS ...])
# One gtest binary; each TEST becomes a ctest entry (discovered when ctest runs, so a
# privileged binary is never executed at build time).
# LONG_TESTS: gtest names of this binary that carry the label `long` instead (timing-
# sensitive or slow ones), so the default run leaves them out.
function(ist_gtest name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;LIBS;LABELS;LONG_TESTS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main ist_warnings)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  set(props TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    list(APPEND props LABELS "${ARG_LABELS}")
  endif()
  if(ARG_LONG_TESTS)
    list(JOIN ARG_LONG_TESTS ":" long_filter)
    gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST TEST_FILTER "-${long_filter}" PROPERTIES ${props})
    gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST TEST_FILTER "${long_filter}"
      TEST_SUFFIX ".long" PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "long")
  else()
    gtest_discover_tests(${name} DISCOVERY_MODE PRE_TEST PROPERTIES ${props})
  endif()
  if("unit" IN_LIST ARG_LABELS)
    add_dependencies(ist_unit_tests ${name})
  endif()
endfunction()

# ist_fuzz_target(NAME SOURCE ... LIBS ...)
# With IST_FUZZ: a libFuzzer binary. Otherwise: the same entry point linked against a
# small driver that replays the seed corpus tests/fuzz/corpus/NAME, registered as a test,
# so every normal build still proves the corpus parses without crashing.
function(ist_fuzz_target name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} ist_warnings)
  add_dependencies(ist_fuzz_targets ${name})
  if(IST_FUZZ)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  else()
    target_sources(${name} PRIVATE ${IST_SOURCE_DIR}/tests/fuzz/replay_main.cpp)
    add_test(NAME ${name}.corpus COMMAND ${name} ${IST_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set_tests_properties(${name}.corpus PROPERTIES LABELS fuzz TIMEOUT 120)
  endif()
endfunction()
