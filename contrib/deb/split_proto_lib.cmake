# CPACK_PRE_BUILD_SCRIPTS: libwarren_proto.so.N is shipped by the runtime
# package `warren` (it is what binaries and plugins load); the SDK component
# installs it too (for `cmake --install --component sdk`), so it is removed
# from warren-dev's staging tree, which keeps the .so link and headers.
file(GLOB_RECURSE staged LIST_DIRECTORIES false "${CPACK_TEMPORARY_DIRECTORY}/sdk/*libwarren_proto.so.*")
foreach(f ${staged})
  file(REMOVE ${f})
endforeach()
