# ESP in userspace for the native engine's CHILD_SAs (owner: esp): RFC 4303 encapsulation,
# anti-replay window, inner IPv4/UDP packets. Pure byte functions on top of the crypto core.
add_library(ist_ike_esp STATIC ${CMAKE_CURRENT_LIST_DIR}/esp.cpp ${CMAKE_CURRENT_LIST_DIR}/esp_inner.cpp)
target_include_directories(ist_ike_esp PUBLIC ${CMAKE_SOURCE_DIR}/harness)
target_link_libraries(ist_ike_esp PUBLIC ist_ike PRIVATE ist_warnings)
