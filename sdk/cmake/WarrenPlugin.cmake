# warren_add_plugin(NAME <short name> KIND isolator|provisioner VENDOR <reverse-dns>
#                   SOURCES <files...> [PROTOS <files...>] [PROTO_ROOT <dir>]
#                   [LIBRARIES <libs...>] [OUTPUT_DIRECTORY <dir>] [NO_INSTALL]
#                   [COMPONENT <name>])
#
# One identity per plugin: the short name S (what --isolation takes, e.g.
# `pid`, `filesystem/linux`, `example/greeting`; [a-z0-9_] words, at most one
# '/') drives every other name, with ID = S with '/' -> '_':
#   CMake target and file     <KIND>_<ID>, <KIND>_<ID>.so  (isolator_filesystem_linux.so)
#   descriptor name           <VENDOR>.<KIND>.<S, '/' -> '.'>  (org.warren.isolator.filesystem.linux)
#   config proto              <NS>/<KIND>s/<ID>/*.proto under PROTO_ROOT (default
#                             ${CMAKE_CURRENT_SOURCE_DIR}/proto with NAME), package
#                             <NS>.<KIND>s.<ID>, NS = VENDOR without its first label
#                             (org.warren -> warren, com.example -> example)
#   log lines                 the host's logger warren.plugin.<S>
# The target name is also left in WARREN_PLUGIN_TARGET. The descriptor the
# plugin's WARREN_ISOLATOR_PLUGIN / WARREN_PROVISIONER_PLUGIN declares is
# checked against NAME/KIND/VENDOR at compile time, a proto at another path or
# package is a configure error.
#
# warren_add_plugin(<target> SOURCES ...) (no NAME) builds a plugin under a
# target name of your choosing with none of those checks (the test suite's
# deliberately broken plugins use it).
#
# COMPONENT: install only with that install component (e.g. `examples`), not
# with a plain `cmake --install`.
#
# Builds one warren plugin as a MODULE library: a version script exports only
# the descriptor `warren_plugin` (no weak std symbols leak), no undefined
# symbols, linked against the shared SDK protos and nothing of the host's
# logging (warren/sdk/log.hpp). The descriptor's proto_files list (ABI 1.2) is
# generated from PROTOS; since all plugins share one descriptor pool, the
# path rule above keeps them apart.
function(warren_add_plugin first)
  if(first STREQUAL "NAME")
    cmake_parse_arguments(WI "" "NAME;KIND;VENDOR" "" ${ARGV})
    set(short ${WI_NAME})
    if(NOT short MATCHES "^[a-z0-9_]+(/[a-z0-9_]+)?$")
      message(FATAL_ERROR "warren_add_plugin: NAME '${short}' is not a short name ([a-z0-9_] words, at most one '/')")
    endif()
    if(NOT WI_KIND MATCHES "^(isolator|provisioner)$")
      message(FATAL_ERROR "warren_add_plugin(NAME ${short}): KIND must be isolator or provisioner, got '${WI_KIND}'")
    endif()
    if(NOT WI_VENDOR MATCHES "^[a-z0-9-]+(\\.[a-z0-9-]+)+$")
      message(FATAL_ERROR "warren_add_plugin(NAME ${short}): VENDOR must be reverse-DNS like com.example, got '${WI_VENDOR}'")
    endif()
    string(REPLACE "/" "_" id ${short})
    string(REPLACE "/" "." dotted ${short})
    set(target ${WI_KIND}_${id})
    string(REGEX REPLACE "^[^.]+\\." "" ns ${WI_VENDOR})
    string(REPLACE "." "/" ns_path ${ns})
    set(WI_IDENTITY ON)
    set(WI_DESCRIPTOR_NAME ${WI_VENDOR}.${WI_KIND}.${dotted})
    set(WI_PROTO_DIR ${ns_path}/${WI_KIND}s/${id})
    string(REPLACE "/" "." WI_PROTO_PACKAGE ${WI_PROTO_DIR})
    # The remaining arguments, without NAME/KIND/VENDOR and their values.
    set(rest)
    set(skip OFF)
    foreach(arg IN LISTS ARGV)
      if(skip)
        set(skip OFF)
      elseif(arg MATCHES "^(NAME|KIND|VENDOR)$")
        set(skip ON)
      else()
        list(APPEND rest "${arg}")
      endif()
    endforeach()
    set(WARREN_PLUGIN_TARGET ${target} PARENT_SCOPE)
  else()
    set(target ${first})
    set(rest ${ARGN})
    set(WI_IDENTITY OFF)
  endif()
  cmake_parse_arguments(WP "NO_INSTALL" "OUTPUT_DIRECTORY;COMPONENT" "SOURCES;PROTOS;LIBRARIES;PROTO_ROOT" ${rest})
  set(srcs ${WP_SOURCES})
  set(proto_names)
  if(WP_PROTOS)
    set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_gen)
    file(MAKE_DIRECTORY ${out})
    if(WP_PROTO_ROOT)
      set(root ${WP_PROTO_ROOT})
    elseif(WI_IDENTITY)
      set(root ${CMAKE_CURRENT_SOURCE_DIR}/proto)
    else()
      set(root ${CMAKE_CURRENT_SOURCE_DIR})
    endif()
    foreach(p ${WP_PROTOS})
      get_filename_component(abs ${p} ABSOLUTE)
      file(RELATIVE_PATH rel ${root} ${abs})
      string(REGEX REPLACE "\\.proto$" "" stem ${rel})
      if(WI_IDENTITY)
        get_filename_component(rel_dir ${rel} DIRECTORY)
        file(STRINGS ${abs} pkg_line REGEX "^package ")
        set(pkg "")
        if(pkg_line MATCHES "^package[ \t]+([A-Za-z0-9_.]+)")
          set(pkg ${CMAKE_MATCH_1})
        endif()
        if(NOT rel_dir STREQUAL WI_PROTO_DIR OR NOT pkg STREQUAL WI_PROTO_PACKAGE)
          message(FATAL_ERROR "warren_add_plugin(NAME ${WI_NAME}): config proto '${rel}' (package '${pkg}') must be "
                              "'${WI_PROTO_DIR}/<file>.proto' under PROTO_ROOT with package '${WI_PROTO_PACKAGE}'")
        endif()
      endif()
      add_custom_command(
        OUTPUT ${out}/${stem}.pb.cc ${out}/${stem}.pb.h
        COMMAND protobuf::protoc --cpp_out=${out} -I${root} ${abs}
        DEPENDS ${abs}
        COMMENT "protoc ${rel}")
      list(APPEND srcs ${out}/${stem}.pb.cc)
      string(APPEND proto_names "\"${rel}\", ")
    endforeach()
    # The proto files this plugin embeds, for the descriptor (ABI 1.2).
    file(WRITE ${out}/warren_plugin_proto_files.cpp.in
      "// Generated by warren_add_plugin(): the proto files ${target} embeds.\n"
      "extern \"C\" __attribute__((visibility(\"hidden\"))) const char* const\n"
      "    warren_plugin_proto_files_[] = {${proto_names}nullptr};\n")
    configure_file(${out}/warren_plugin_proto_files.cpp.in ${out}/warren_plugin_proto_files.cpp COPYONLY)
    list(APPEND srcs ${out}/warren_plugin_proto_files.cpp)
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
  if(WI_IDENTITY)
    # The descriptor macro checks its names against these at compile time.
    string(TOUPPER ${WI_KIND} kind_upper)
    target_compile_definitions(${target} PRIVATE
      WARREN_PLUGIN_EXPECTED_NAME="${WI_DESCRIPTOR_NAME}"
      WARREN_PLUGIN_EXPECTED_SHORT_NAME="${WI_NAME}"
      WARREN_PLUGIN_EXPECTED_KIND=WARREN_KIND_${kind_upper})
  endif()
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # Export only the descriptor.
  set(map ${CMAKE_BINARY_DIR}/warren_plugin.map)
  if(NOT EXISTS ${map})
    file(WRITE ${map} "{\n  global: warren_plugin;\n  local: *;\n};\n")
  endif()
  target_link_options(${target} PRIVATE -Wl,--no-undefined -Wl,--version-script=${map})
  set_property(TARGET ${target} APPEND PROPERTY LINK_DEPENDS ${map})
  if(WP_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WP_OUTPUT_DIRECTORY})
  elseif(DEFINED WARREN_PLUGIN_OUTPUT_DIR)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${WARREN_PLUGIN_OUTPUT_DIR})
  endif()
  if(DEFINED WARREN_INSTALL_PLUGIN_DIR AND NOT WP_NO_INSTALL)
    set_target_properties(${target} PROPERTIES INSTALL_RPATH "$ORIGIN/../..")
    if(WP_COMPONENT)
      install(TARGETS ${target} LIBRARY DESTINATION ${WARREN_INSTALL_PLUGIN_DIR}
        COMPONENT ${WP_COMPONENT} EXCLUDE_FROM_ALL)
    else()
      install(TARGETS ${target} LIBRARY DESTINATION ${WARREN_INSTALL_PLUGIN_DIR})
    endif()
  endif()
endfunction()
