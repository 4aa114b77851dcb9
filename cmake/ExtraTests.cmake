# Extra build steps for the per-layer test binaries (included by the top CMakeLists.txt after they
# are created).

# rlpp_core_tests decodes the TensorBoard event files rlpp writes with protobuf code generated from
# its own tests/core/tb_event.proto - an encoder independent of rlpp's hand-written one.
if(TARGET rlpp_core_tests)
  find_package(Protobuf QUIET)
  if(Protobuf_FOUND AND TARGET protobuf::libprotobuf AND Protobuf_PROTOC_EXECUTABLE)
    set(rlpp_tb_proto_out ${PROJECT_BINARY_DIR}/generated/tests)
    file(MAKE_DIRECTORY ${rlpp_tb_proto_out})
    add_custom_command(
      OUTPUT ${rlpp_tb_proto_out}/tb_event.pb.cc ${rlpp_tb_proto_out}/tb_event.pb.h
      COMMAND ${Protobuf_PROTOC_EXECUTABLE} --cpp_out=${rlpp_tb_proto_out}
              -I${PROJECT_SOURCE_DIR}/tests/core ${PROJECT_SOURCE_DIR}/tests/core/tb_event.proto
      DEPENDS ${PROJECT_SOURCE_DIR}/tests/core/tb_event.proto
      COMMENT "protoc tests/core/tb_event.proto")
    target_sources(rlpp_core_tests PRIVATE ${rlpp_tb_proto_out}/tb_event.pb.cc)
    # Generated code is not ours to lint, and it cannot use the LibTorch precompiled header.
    set_source_files_properties(${rlpp_tb_proto_out}/tb_event.pb.cc PROPERTIES
      SKIP_PRECOMPILE_HEADERS ON COMPILE_OPTIONS "-w")
    target_include_directories(rlpp_core_tests PRIVATE ${rlpp_tb_proto_out})
    target_link_libraries(rlpp_core_tests PRIVATE protobuf::libprotobuf)
    target_compile_definitions(rlpp_core_tests PRIVATE RLPP_TEST_HAVE_PROTOBUF=1)
  else()
    message(STATUS "rlpp: protobuf not found - the TensorBoard decoding test is skipped")
  endif()
endif()
