# The Python module `rlpp` (python/): a pybind11 extension `rlpp._rlpp` linked against the same
# LibTorch as the library, so that torch tensors cross without copies and autograd flows through
# rlpp's functions. Optional: skipped with a message when Python's headers, pybind11 or LibTorch's
# Python bindings (libtorch_python, from python3-torch) are missing.
#
# The package is assembled in ${PROJECT_BINARY_DIR}/python/rlpp (the .py files copied, the
# extension built there): `PYTHONPATH=build/python python3 -c "import rlpp"`.
option(RLPP_BUILD_PYTHON "Build the Python module (pybind11)" ON)
set(RLPP_HAVE_PYTHON OFF)
if(RLPP_BUILD_PYTHON)
  # The interpreter whose torch is the LibTorch we link (Debian's python3-torch for libtorch-dev),
  # not whichever python3 comes first on PATH.
  if(NOT Python3_EXECUTABLE AND EXISTS /usr/bin/python3)
    set(Python3_EXECUTABLE /usr/bin/python3)
  endif()
  find_package(Python3 COMPONENTS Interpreter Development.Module QUIET)
  find_package(pybind11 CONFIG QUIET)
  get_filename_component(_rlpp_torch_lib_dir "${TORCH_LIBRARY}" DIRECTORY)
  find_library(RLPP_TORCH_PYTHON_LIBRARY torch_python HINTS ${_rlpp_torch_lib_dir})
  if(Python3_FOUND AND pybind11_FOUND AND RLPP_TORCH_PYTHON_LIBRARY)
    set(RLPP_HAVE_PYTHON ON)
  else()
    message(STATUS "rlpp: Python module disabled (needs python3-dev, pybind11-dev and python3-torch's "
                   "libtorch_python; see scripts/setup-deps.sh)")
  endif()
endif()

if(RLPP_HAVE_PYTHON)
  message(STATUS "rlpp: Python module for ${Python3_EXECUTABLE} (${Python3_VERSION})")
  set(_rlpp_py_dir ${PROJECT_BINARY_DIR}/python/rlpp)
  file(GLOB _rlpp_py_srcs CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/src/*.cpp)
  pybind11_add_module(rlpp_python MODULE ${_rlpp_py_srcs})
  set_target_properties(rlpp_python PROPERTIES OUTPUT_NAME _rlpp LIBRARY_OUTPUT_DIRECTORY ${_rlpp_py_dir})
  target_link_libraries(rlpp_python PRIVATE rlpp::rlpp ${RLPP_TORCH_PYTHON_LIBRARY})
  target_include_directories(rlpp_python PRIVATE ${PROJECT_SOURCE_DIR}/python/src ${PROJECT_SOURCE_DIR}/src)
  # The pure-Python half of the package, copied next to the extension.
  file(GLOB _rlpp_py_files CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/python/rlpp/*.py)
  set(_rlpp_py_copies)
  foreach(f ${_rlpp_py_files})
    get_filename_component(n ${f} NAME)
    add_custom_command(OUTPUT ${_rlpp_py_dir}/${n} COMMAND ${CMAKE_COMMAND} -E copy_if_different ${f} ${_rlpp_py_dir}/${n}
                       DEPENDS ${f} COMMENT "" VERBATIM)
    list(APPEND _rlpp_py_copies ${_rlpp_py_dir}/${n})
  endforeach()
  add_custom_target(rlpp_python_files ALL DEPENDS ${_rlpp_py_copies})
  add_dependencies(rlpp_python rlpp_python_files)

  if(RLPP_BUILD_TESTS)
    add_dependencies(rlpp_tests rlpp_python)
    # The reference environment's interpreter (Gymnasium) when scripts/setup-deps.sh made it; it
    # sees Debian's torch and numpy. Tests needing Gymnasium skip themselves without it.
    if(EXISTS ${PROJECT_SOURCE_DIR}/.venv/bin/python)
      set(_rlpp_pytest_python ${PROJECT_SOURCE_DIR}/.venv/bin/python)
    else()
      set(_rlpp_pytest_python ${Python3_EXECUTABLE})
    endif()
    add_test(NAME rlpp_python_tests
             COMMAND ${_rlpp_pytest_python} -m pytest -q -p no:cacheprovider ${PROJECT_SOURCE_DIR}/python/tests
             WORKING_DIRECTORY ${PROJECT_BINARY_DIR})
    set_tests_properties(rlpp_python_tests PROPERTIES LABELS python
                         ENVIRONMENT "PYTHONPATH=${PROJECT_BINARY_DIR}/python;RLPP_SOURCE_DIR=${PROJECT_SOURCE_DIR};RLPP_CLI=$<TARGET_FILE:rlpp_cli>")
  endif()
endif()
