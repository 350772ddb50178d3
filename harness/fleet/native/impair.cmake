# Impairments and floods for the native engine (owner: impair): the decision engine, the
# ImpairedIo decorator around any PacketIo, malformed messages and half-open floods.
add_library(ist_native_impair STATIC
  ${CMAKE_CURRENT_LIST_DIR}/impair.cpp ${CMAKE_CURRENT_LIST_DIR}/impaired_io.cpp
  ${CMAKE_CURRENT_LIST_DIR}/flood_malformed.cpp ${CMAKE_CURRENT_LIST_DIR}/flood.cpp
  ${CMAKE_CURRENT_LIST_DIR}/impair_layers.cpp)
target_include_directories(ist_native_impair PUBLIC ${CMAKE_SOURCE_DIR}/harness)
target_link_libraries(ist_native_impair PUBLIC ist_ike ist_common PRIVATE ist_warnings)
