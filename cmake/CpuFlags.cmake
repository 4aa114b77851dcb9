# Instruction-set flags. The default is one fixed target, x86-64-v3 (AVX2, FMA, BMI2) with generic
# tuning: the same code on every machine, and free of GCC 12's wrong-code bug under AVX-512 tuning
# (tests/core/toolchain_test.cpp: `-march=x86-64-v3 -mtune=skylake-avx512` broadcasts 1.0 into
# `std::vector<double> v = {1, 1, 0, 0}`, which `-mno-avx512f` alone does not prevent). A CPU
# without AVX2 gets x86-64-v2, then the compiler's default. RLPP_NATIVE=ON opts into -march=native;
# configure then runs cmake/toolchain_probe.cpp built with those flags and refuses them if the
# compiler miscompiles it. Every choice is verified by running the probe on this machine.
option(RLPP_NATIVE "Compile for the host CPU (-march=native), verified at configure time" OFF)

find_package(GTest QUIET)
# ON in out_var when cmake/toolchain_probe.cpp (and tests/core/toolchain_test.cpp, when GoogleTest
# is present) built at -O3 with the given flags runs and passes on this machine.
function(rlpp_probe_flags out_var)
  set(flags ${ARGN})
  try_run(run_result compile_ok ${PROJECT_BINARY_DIR}/toolchain_probe
          ${PROJECT_SOURCE_DIR}/cmake/toolchain_probe.cpp
          COMPILE_DEFINITIONS -O3 ${flags}
          CXX_STANDARD 17)
  if(NOT compile_ok OR NOT run_result EQUAL 0)
    set(${out_var} OFF PARENT_SCOPE)
    return()
  endif()
  if(GTest_FOUND)
    try_run(run_result compile_ok ${PROJECT_BINARY_DIR}/toolchain_probe_gtest
            ${PROJECT_SOURCE_DIR}/tests/core/toolchain_test.cpp
            COMPILE_DEFINITIONS -O3 ${flags}
            LINK_LIBRARIES GTest::gtest GTest::gtest_main
            CXX_STANDARD 17)
    if(NOT compile_ok OR NOT run_result EQUAL 0)
      set(${out_var} OFF PARENT_SCOPE)
      return()
    endif()
  endif()
  set(${out_var} ON PARENT_SCOPE)
endfunction()

set(RLPP_CPU_FLAGS "")
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  if(RLPP_NATIVE)
    set(candidates "-march=native")
  else()
    set(candidates "-march=x86-64-v3 -mtune=generic" "-march=x86-64-v2 -mtune=generic")
  endif()
  foreach(c IN LISTS candidates)
    string(MAKE_C_IDENTIFIER "${c}" id)
    separate_arguments(c_flags UNIX_COMMAND "${c}")
    rlpp_probe_flags(RLPP_PROBE_${id} ${c_flags})
    if(RLPP_PROBE_${id})
      set(RLPP_CPU_FLAGS ${c_flags})
      break()
    endif()
    if(RLPP_NATIVE)
      message(FATAL_ERROR "rlpp: -march=native fails cmake/toolchain_probe.cpp on this machine (the compiler "
                          "miscompiles it or the CPU cannot run it); configure with -DRLPP_NATIVE=OFF")
    endif()
  endforeach()
endif()
if(RLPP_CPU_FLAGS)
  add_compile_options(${RLPP_CPU_FLAGS})
  string(REPLACE ";" " " shown "${RLPP_CPU_FLAGS}")
  message(STATUS "rlpp: instruction-set flags: ${shown} (verified by cmake/toolchain_probe.cpp)")
else()
  message(STATUS "rlpp: instruction-set flags: the compiler's default")
endif()
