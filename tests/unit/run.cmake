ist_gtest(run_orchestrator_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/run_orchestrator_test.cpp LIBS ist_run LABELS unit)
ist_gtest(run_verdict_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/run_verdict_test.cpp LIBS ist_run LABELS unit)
ist_gtest(run_gateway_vici_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/run_gateway_vici_test.cpp LIBS ist_run LABELS unit)
ist_gtest(run_target_probe_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/run_target_probe_test.cpp LIBS ist_run LABELS unit)
