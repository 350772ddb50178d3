# Warnings every ikestorm target gets; -Werror with IST_WERROR=ON (the presets and CI).
add_library(ist_warnings INTERFACE)
target_compile_options(ist_warnings INTERFACE
  -Wall -Wextra $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wimplicit-fallthrough -Wno-missing-field-initializers
  $<$<BOOL:${IST_WERROR}>:-Werror>)
# GCC 12 at -O3 (Release) reports -Wrestrict "overlaps" inside libstdc++'s inlined
# std::string copies in ordinary string code (GCC bugs 105329, 105651: false positives,
# fixed in GCC 13); seen in vici/text.cpp, netns/ip_address.cpp, reports/compare_html.cpp.
# Off for GCC < 13 in Release builds only, so other builds and newer compilers keep it.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(ist_warnings INTERFACE $<$<CONFIG:Release>:-Wno-restrict>)
endif()
