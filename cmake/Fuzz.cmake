# The fuzz entry points (fuzz/*.cpp, see fuzz/fuzz_targets.h) compiled with the normal compiler into
# the test binaries of the layers they parse for: tests/<layer>/fuzz_corpus_test.cpp runs every
# committed input of fuzz/corpus/<target>/ (seeds and the inputs of fixed findings) through them.
# The libFuzzer build is separate (fuzz/CMakeLists.txt, scripts/fuzz.sh) and needs clang.
function(rlpp_fuzz_entries layer)
  if(TARGET rlpp_${layer}_tests)
    list(TRANSFORM ARGN PREPEND ${PROJECT_SOURCE_DIR}/fuzz/)
    target_sources(rlpp_${layer}_tests PRIVATE ${ARGN})
    target_include_directories(rlpp_${layer}_tests PRIVATE ${PROJECT_SOURCE_DIR})
  endif()
endfunction()

rlpp_fuzz_entries(core recipe.cpp)
rlpp_fuzz_entries(nn safetensors_header.cpp tokenizer_json.cpp mem_file.cpp)
rlpp_fuzz_entries(serve chat_request.cpp)
rlpp_fuzz_entries(certify game_file.cpp)
