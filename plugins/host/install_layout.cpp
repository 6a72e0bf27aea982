#include "host/install_layout.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <vector>

namespace warren::plugins {

namespace stdfs = std::filesystem;

namespace {

bool present(const stdfs::path& p) {
  std::error_code ec;
  return stdfs::exists(p, ec);
}

InstallLayout underPrefix(const stdfs::path& prefix) {
  InstallLayout l;
  l.prefix = prefix.string();
  l.init_path = (prefix / WARREN_REL_LIBEXECDIR / "warren" / "warren-init").string();
  l.plugin_dir = (prefix / WARREN_REL_LIBDIR / "warren" / "plugins").string();
  l.plugin_host_path = (prefix / WARREN_REL_LIBEXECDIR / "warren" / "warren-plugin-host").string();
  return l;
}

// `dir` with the trailing components of `rel` removed, or empty when `dir`
// does not end with them (lib/x86_64-linux-gnu -> two levels).
stdfs::path strip(const stdfs::path& dir, const stdfs::path& rel) {
  std::vector<stdfs::path> parts(rel.begin(), rel.end());
  stdfs::path d = dir;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    if (d.filename() != *it) return {};
    d = d.parent_path();
  }
  return d;
}

InstallLayout inBuildTree(const stdfs::path& b) {
  InstallLayout l;
  l.prefix = b.string();
  l.build_tree = true;
  l.init_path = (b / "bin" / "warren-init").string();
  l.plugin_dir = (b / "plugins").string();
  l.plugin_host_path = (b / "bin" / "warren-plugin-host").string();
  return l;
}

}  // namespace

InstallLayout installLayoutOf(const std::string& file) {
  std::error_code ec;
  stdfs::path self = stdfs::weakly_canonical(file, ec);
  if (ec) self = file;
  stdfs::path dir = self.parent_path();
  // <build>/bin/warren, <build>/lib/libwarren.so
  if (present(dir.parent_path() / "CMakeCache.txt")) return inBuildTree(dir.parent_path());
  // <prefix>/<libdir>/libwarren.so, <prefix>/{bin,sbin}/warren*,
  // <prefix>/<libexecdir>/warren/warren-plugin-host: the first candidate
  // prefix that holds warren's files wins.
  std::vector<stdfs::path> candidates;
  for (const auto& p : {strip(dir, WARREN_REL_LIBDIR), dir.parent_path(),
                        strip(dir, stdfs::path(WARREN_REL_LIBEXECDIR) / "warren")}) {
    if (!p.empty()) candidates.push_back(p);
  }
  for (const auto& p : candidates) {
    InstallLayout l = underPrefix(p);
    if (present(l.init_path) || present(l.plugin_dir)) return l;
  }
  // A test binary deeper in the build tree (<build>/tests/<dir>/<name>).
  for (stdfs::path d = dir; !d.empty() && d != d.root_path(); d = d.parent_path()) {
    if (present(d / "CMakeCache.txt")) return inBuildTree(d);
  }
  return underPrefix(WARREN_INSTALL_PREFIX);
}

const InstallLayout& installLayout() {
  static const InstallLayout layout = [] {
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&installLayoutOf), &info) != 0 && info.dli_fname != nullptr &&
        info.dli_fname[0] == '/') {
      return installLayoutOf(info.dli_fname);
    }
    std::error_code ec;
    auto exe = stdfs::read_symlink("/proc/self/exe", ec);
    return installLayoutOf(ec ? std::string(".") : exe.string());
  }();
  return layout;
}

}  // namespace warren::plugins
