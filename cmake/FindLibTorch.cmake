# Chooses the LibTorch to build against and exposes it as the target `rlpp_torch`.
#
# * -DRLPP_TORCH_PREFIX=/path wins when given.
# * Otherwise, when an NVIDIA GPU is visible (nvidia-smi) and python3 can import a CUDA PyTorch,
#   that PyTorch's bundled LibTorch is used (torch.utils.cmake_prefix_path), so the same sources
#   build with CUDA.
# * Otherwise Debian's libtorch-dev (CPU).
set(RLPP_TORCH_PREFIX "" CACHE PATH "Prefix of a LibTorch installation to use")
if(NOT RLPP_TORCH_PREFIX)
  find_program(RLPP_NVIDIA_SMI nvidia-smi)
  find_program(RLPP_PYTHON3 python3)
  if(RLPP_NVIDIA_SMI AND RLPP_PYTHON3)
    execute_process(
      COMMAND ${RLPP_PYTHON3} -c "import torch,sys; sys.stdout.write(torch.utils.cmake_prefix_path if torch.cuda.is_available() else '')"
      OUTPUT_VARIABLE _rlpp_py_torch RESULT_VARIABLE _rlpp_py_rc ERROR_QUIET)
    if(_rlpp_py_rc EQUAL 0 AND _rlpp_py_torch)
      set(RLPP_TORCH_PREFIX ${_rlpp_py_torch})
    endif()
  endif()
endif()
if(RLPP_TORCH_PREFIX)
  list(PREPEND CMAKE_PREFIX_PATH ${RLPP_TORCH_PREFIX})
  message(STATUS "rlpp: using LibTorch from ${RLPP_TORCH_PREFIX}")
endif()
find_package(Torch REQUIRED)
message(STATUS "rlpp: LibTorch ${Torch_VERSION}")
add_library(rlpp_torch INTERFACE)
target_link_libraries(rlpp_torch INTERFACE ${TORCH_LIBRARIES})
target_include_directories(rlpp_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
if(TORCH_CXX_FLAGS)
  separate_arguments(_rlpp_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  target_compile_options(rlpp_torch INTERFACE ${_rlpp_torch_flags})
endif()
