// Where this warren's own files are (warren-init, the plugin dir,
// warren-plugin-host), found relative to the binary that holds this code -
// libwarren.so for an embedding agent, the executable for the CLI, warrend
// and the conformance kit - so an install works from any prefix (`cmake
// --install build --prefix /opt/x`, the .deb under /usr) and a build tree
// works without installing. Nothing here is a compiled-in absolute path
// except the last resort (the configured CMAKE_INSTALL_PREFIX). Every
// default stays overridable (--init_path, --plugin_dir, HostOptions).
#pragma once

#include <string>

namespace warren::plugins {

struct InstallLayout {
  std::string prefix;            // the install prefix, or the build dir
  bool build_tree = false;       // a CMake build dir (CMakeCache.txt at prefix)
  std::string init_path;         // <prefix>/<libexecdir>/warren/warren-init
  std::string plugin_dir;        // <prefix>/<libdir>/warren/plugins
  std::string plugin_host_path;  // <prefix>/<libexecdir>/warren/warren-plugin-host
};

// The layout around `file` (a binary or shared library of this warren).
// Build tree: <build>/{bin,lib}/file with <build>/CMakeCache.txt, plugins in
// <build>/plugins, executables in <build>/bin. Install: file in <prefix>/bin,
// sbin, <libdir> or <libexecdir>/warren.
InstallLayout installLayoutOf(const std::string& file);

// installLayoutOf() the object this function is linked into (dladdr), so
// libwarren finds its own install even when the agent's executable lives
// elsewhere.
const InstallLayout& installLayout();

}  // namespace warren::plugins
