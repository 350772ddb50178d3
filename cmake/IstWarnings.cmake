# Warnings every ikestorm target gets; -Werror with IST_WERROR=ON (the presets and CI).
add_library(ist_warnings INTERFACE)
target_compile_options(ist_warnings INTERFACE
  -Wall -Wextra $<$<CXX_COMPILER_ID:GNU>:-Wshadow=local> -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
  -Wnull-dereference -Wimplicit-fallthrough -Wno-missing-field-initializers
  $<$<BOOL:${IST_WERROR}>:-Werror>)
