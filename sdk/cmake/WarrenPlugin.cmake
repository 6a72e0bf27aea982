# warren_add_plugin(<target> SOURCES <files...> [PROTOS <files...>] [LIBRARIES <libs...>]
#                   [OUTPUT_DIRECTORY <dir>] [NO_INSTALL])
#
# Builds one warren plugin as a MODULE library: everything hidden except the
# exported descriptor, no undefined symbols, linked against the shared SDK
# protos. PROTOS are the plugin's own config protos; give them a unique path
# (e.g. com/vendor/foo/config.proto) since all plugins share one descriptor pool.
function(warren_add_plugin target)
  cmake_parse_arguments(WP "NO_INSTALL" "OUTPUT_DIRECTORY" "SOURCES;PROTOS;LIBRARIES;PROTO_ROOT" ${ARGN})
  set(srcs ${WP_SOURCES})
  if(WP_PROTOS)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
    file(MAKE_DIRECTORY ${out})
    if(WP_PROTO_ROOT)
      set(root ${WP_PROTO_ROOT})
    else()
      set(root ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
    foreach(p ${WP_PROTOS})
      get_filename_component(abs ${p} ABSOLUTE)
      file(RELATIVE_PATH rel ${root} ${abs})
      string(REGEX REPLACE "\\.proto$" "" stem ${rel})
      add_custom_command(
        OUTPUT ${out}/${stem}.pb.cc ${out}/${stem}.pb.h
        COMMAND protobuf::protoc --cpp_out=${out} -I${root} ${abs}
        DEPENDS ${abs}
        COMMENT "protoc ${rel}")
      list(APPEND srcs ${out}/${stem}.pb.cc)
    endforeach()
  endif()
  add_library(${target} MODULE ${srcs})
  if(WP_PROTOS)
    target_include_directories(${target} PRIVATE ${out})
  endif()
  if(NOT TARGET warren::sdk)
    message(FATAL_ERROR "warren_add_plugin(${target}): no warren::sdk target; call find_package(warren) first")
  endif()
  target_link_libraries(${target} PRIVATE warren::sdk)
  target_link_libraries(${target} PRIVATE ${WP_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  if(WP_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WP_OUTPUT_DIRECTORY})
  elseif(DEFINED WARREN_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WARREN_PLUGIN_OUTPUT_DIR})
  endif()
  if(DEFINED WARREN_INSTALL_PLUGIN_DIR AND NOT WP_NO_INSTALL)
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    install(TARGETS ${target} LIBRARY DESTINATION ${WARREN_INSTALL_PLUGIN_DIR})
  endif()
endfunction()
