# Sanitizer and fuzzing lanes (presets `asan` and `fuzz` in CMakePresets.json;
# how to run them: README, "Fuzzing and sanitizers"; tests/fuzz/README.md).
#
#   WARREN_SANITIZE=address,undefined  every target instrumented (GCC or clang);
#                                      UB is fatal (-fno-sanitize-recover).
#   WARREN_FUZZ=ON                     clang only: also coverage-instrument
#                                      everything (fuzzer-no-link) and build the
#                                      libFuzzer targets of tests/fuzz.
set(WARREN_SANITIZE "" CACHE STRING "sanitizers for every target, e.g. address,undefined")
option(WARREN_FUZZ "Build the libFuzzer targets in tests/fuzz (needs clang)" OFF)

if(WARREN_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "WARREN_FUZZ needs clang (libFuzzer): configure with the `fuzz` preset "
                      "or -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14")
endif()

set(WARREN_SANITIZER_FLAGS)
if(WARREN_SANITIZE)
  list(APPEND WARREN_SANITIZER_FLAGS -fsanitize=${WARREN_SANITIZE} -fno-sanitize-recover=all
       -fno-omit-frame-pointer)
endif()
if(WARREN_FUZZ)
  list(APPEND WARREN_SANITIZER_FLAGS -fsanitize=fuzzer-no-link)
endif()
if(WARREN_SANITIZER_FLAGS)
  add_compile_options(${WARREN_SANITIZER_FLAGS})
  add_link_options(${WARREN_SANITIZER_FLAGS})
endif()

# warren_no_sanitize(<target>): build one target without sanitizers. Used for
# the statically linked warren-init: ASan and UBSan's runtimes cannot be
# linked statically, and it is a separate process (the sanitized host still
# drives it through the launch protocol).
function(warren_no_sanitize target)
  if(WARREN_SANITIZER_FLAGS)
    target_compile_options(${target} PRIVATE -fno-sanitize=all)
    target_link_options(${target} PRIVATE -fno-sanitize=all)
  endif()
endfunction()
