# The native engine's data plane (owner: esp): flows through the CHILD_SAs over the engine's
# PacketIo, the echo sink in the SUT namespace, induced ESP faults.
add_library(ist_native_dataplane STATIC ${CMAKE_CURRENT_LIST_DIR}/data_plane.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data_plane_probe.cpp ${CMAKE_CURRENT_LIST_DIR}/data_plane_sink.cpp
  ${CMAKE_CURRENT_LIST_DIR}/data_plane_session.cpp)
target_include_directories(ist_native_dataplane PUBLIC ${CMAKE_SOURCE_DIR}/harness)
target_link_libraries(ist_native_dataplane PUBLIC ist_native_esp ist_native_io ist_common
  PRIVATE nlohmann_json::nlohmann_json ist_warnings)
