#include "host/loader.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <vector>

#include <dlfcn.h>

#include <fstream>
#include <iterator>

#include <boost/dll/shared_library.hpp>
#include <google/protobuf/descriptor.h>

#include "warren/sdk/fd.hpp"

namespace warren::plugins {
namespace {

Error pluginError(const std::string& path, const std::string& what) {
  return Error(Code::FailedPrecondition, "plugin '" + path + "': " + what);
}

// Every library ever opened stays here for the life of the process: a
// plugin's code, statics and descriptor must outlive anything that may
// still point into them (instances, abandoned calls, log callbacks).
void keepForever(std::unique_ptr<boost::dll::shared_library> lib) {
  static std::mutex mu;
  static auto* libs = new std::vector<std::unique_ptr<boost::dll::shared_library>>();
  std::lock_guard lock(mu);
  libs->push_back(std::move(lib));
}

// Boost's message wraps dlerror(): "... (dlerror system message: <path>:
// <reason>): <errc text>". Keep only the reason.
std::string loadReason(const std::string& what, const std::string& path) {
  const std::string marker = "dlerror system message: ";
  auto start = what.find(marker);
  auto end = what.rfind(')');
  if (start == std::string::npos || end == std::string::npos || end < start) return what;
  std::string reason = what.substr(start + marker.size(), end - start - marker.size());
  if (reason.rfind(path + ": ", 0) == 0) reason = reason.substr(path.size() + 2);
  if (reason.empty()) return what;
  return reason;
}

// A C string from a plugin, bounded so garbage cannot run away.
bool readCString(const char* s, std::string* out) {
  if (s == nullptr) return false;
  size_t n = strnlen(s, 256);
  if (n == 256) return false;
  out->assign(s, n);
  return true;
}

bool nameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

// True when this very file is already mapped into the process (loaded by an
// earlier host): dlopen would then run no initializers at all.
bool alreadyLoaded(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  if (h == nullptr) return false;
  dlclose(h);  // drops only the reference NOLOAD took
  return true;
}

}  // namespace

std::vector<std::string> embeddedProtoFiles(std::string_view all) {
  // Generated code embeds each serialized FileDescriptorProto, which starts
  // with field 1 (tag 0x0a), a one-byte length and the file's name.
  std::vector<std::string> names;
  for (size_t at = all.find(".proto"); at != std::string_view::npos; at = all.find(".proto", at + 1)) {
    size_t end = at + 6;
    for (size_t len = 7; len < 128 && len + 2 <= end; ++len) {
      size_t start = end - len;
      if (static_cast<unsigned char>(all[start - 1]) != len || all[start - 2] != '\x0a') continue;
      std::string_view name = all.substr(start, len);
      bool clean = std::all_of(name.begin(), name.end(), [](char c) {
        return nameChar(c) || c == '/' || c == '.';
      });
      if (clean) names.emplace_back(name);
      break;
    }
  }
  return names;
}

bool validPluginName(const std::string& name) {
  if (name.empty() || name.size() > 128 || name.find('.') == std::string::npos) return false;
  if (name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    if (!nameChar(c) && c != '.') return false;
  }
  return true;
}

bool validShortName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string::npos) {
    return false;
  }
  for (char c : name) {
    if (!nameChar(c) && c != '/') return false;
  }
  return true;
}

Result<LoadedLibrary> checkDescriptor(const std::string& path, const warren_plugin_descriptor* d) {
  constexpr uint32_t kHeader = offsetof(warren_plugin_descriptor, kind);
  if (d->struct_size < kHeader) {
    return fail(pluginError(path, "descriptor is " + std::to_string(d->struct_size) +
                                      " bytes, too small to hold an ABI version"));
  }
  if (d->abi_major != WARREN_ABI_MAJOR) {
    return fail(pluginError(path, "ABI major " + std::to_string(d->abi_major) +
                                      " does not match the host's " +
                                      std::to_string(WARREN_ABI_MAJOR)));
  }
  if (d->abi_minor > WARREN_ABI_MINOR) {
    return fail(pluginError(path, "ABI minor " + std::to_string(d->abi_minor) +
                                      " is newer than the host's " +
                                      std::to_string(WARREN_ABI_MAJOR) + "." +
                                      std::to_string(WARREN_ABI_MINOR)));
  }
  const uint32_t need = descriptorBytesFor(d->abi_minor);
  if (d->struct_size < need) {
    return fail(pluginError(path, "descriptor is " + std::to_string(d->struct_size) +
                                      " bytes, smaller than the " + std::to_string(need) +
                                      " of ABI " +
                                      std::to_string(d->abi_major) + "." +
                                      std::to_string(d->abi_minor)));
  }
  LoadedLibrary lib;
  lib.raw = d;
  Descriptor& desc = lib.descriptor;
  desc.path = path;
  desc.abi_major = d->abi_major;
  desc.abi_minor = d->abi_minor;
  if (d->kind != WARREN_KIND_ISOLATOR && d->kind != WARREN_KIND_PROVISIONER) {
    return fail(pluginError(path, "unknown plugin kind " + std::to_string(d->kind)));
  }
  desc.kind = static_cast<Kind>(d->kind);
  if (!readCString(d->name, &desc.name) || !validPluginName(desc.name)) {
    return fail(pluginError(path, "invalid plugin name (want reverse-DNS, e.g. com.vendor.isolator.foo)"));
  }
  if (!readCString(d->short_name, &desc.short_name) || !validShortName(desc.short_name)) {
    return fail(pluginError(path, "plugin '" + desc.name +
                                      "' has an invalid short name (want e.g. foo or foo/bar)"));
  }
  if (d->version != nullptr && !readCString(d->version, &desc.version)) {
    return fail(pluginError(path, "plugin '" + desc.name + "' has an invalid version string"));
  }
  if (d->create == nullptr || d->destroy == nullptr || d->call == nullptr) {
    return fail(pluginError(path, "plugin '" + desc.name +
                                      "' descriptor lacks create, destroy or call"));
  }
  if (d->abi_minor >= 1 && d->describe != nullptr) {
    std::string out;
    warren_sink sink{&out, [](void* ctx, const uint8_t* data, size_t len) {
                       if (data != nullptr && len > 0) {
                         static_cast<std::string*>(ctx)->append(reinterpret_cast<const char*>(data), len);
                       }
                     }};
    int32_t rc = WARREN_INTERNAL;
    try {
      rc = d->describe(&sink);
    } catch (...) {
      return fail(pluginError(path, "describe threw an exception"));
    }
    if (rc != WARREN_OK) {
      std::replace(out.begin(), out.end(), '\n', ' ');
      return fail(pluginError(path, "describe failed: " +
                                        (out.empty() ? "code " + std::to_string(rc) : out)));
    }
    if (!desc.static_info.ParseFromString(out)) {
      return fail(pluginError(path, "describe returned a malformed PluginInfo"));
    }
  }
  return lib;
}

Result<void> checkKnownProtos(const std::string& path, const std::vector<std::string>& files) {
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const auto& name : files) {
    if (pool->FindFileByName(name) != nullptr) {
      return fail(pluginError(path, "defines proto file '" + name +
                                        "', which is already loaded (the same plugin installed "
                                        "twice, or SDK protos compiled into the plugin)"));
    }
  }
  return {};
}

std::vector<std::string> scanProtoFiles(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  struct stat sb {};
  if (::fstat(fd.get(), &sb) != 0 || sb.st_size <= 0) return {};
  void* map = ::mmap(nullptr, static_cast<size_t>(sb.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) return {};
  Defer unmap([&] { ::munmap(map, static_cast<size_t>(sb.st_size)); });
  return embeddedProtoFiles(std::string_view(static_cast<const char*>(map), static_cast<size_t>(sb.st_size)));
}

Result<void> checkProtoClash(const std::string& path) {
  // mmap, not a stream: plugin files with debug info are tens of MB, and
  // this runs for every plugin at every start.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};  // dlopen reports why it cannot be read
  struct stat sb {};
  if (::fstat(fd.get(), &sb) != 0 || sb.st_size <= 0) return {};
  void* map = ::mmap(nullptr, static_cast<size_t>(sb.st_size), PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (map == MAP_FAILED) return {};
  Defer unmap([&] { ::munmap(map, static_cast<size_t>(sb.st_size)); });
  std::string_view bytes(static_cast<const char*>(map), static_cast<size_t>(sb.st_size));
  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  for (const auto& name : embeddedProtoFiles(bytes)) {
    if (pool->FindFileByName(name) != nullptr) {
      return fail(pluginError(path, "defines proto file '" + name +
                                        "', which is already loaded (the same plugin installed "
                                        "twice, or SDK protos compiled into the plugin)"));
    }
  }
  return {};
}

Result<LoadedLibrary> loadLibrary(const std::string& path, const std::vector<std::string>* known_protos,
                                  bool check_protos) {
  // Loading a second copy of a registered proto file makes protobuf throw
  // from inside dlopen, which leaves the dynamic loader locked: refuse first.
  if (check_protos && !alreadyLoaded(path)) {
    if (known_protos != nullptr) {
      WARREN_TRY(checkKnownProtos(path, *known_protos));
    } else {
      WARREN_TRY(checkProtoClash(path));
    }
  }
  auto lib = std::make_unique<boost::dll::shared_library>();
  const warren_plugin_descriptor* d = nullptr;
  try {
    lib->load(boost::dll::fs::path(path),
              boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return fail(pluginError(path, "not a loadable shared library: " + loadReason(e.what(), path)));
  } catch (...) {
    return fail(pluginError(path, "not a loadable shared library: unknown error"));
  }
  try {
    if (lib->has(WARREN_PLUGIN_SYMBOL)) {
      d = &lib->get<const warren_plugin_descriptor>(WARREN_PLUGIN_SYMBOL);
    }
  } catch (...) {
    d = nullptr;
  }
  keepForever(std::move(lib));
  if (d == nullptr) {
    return fail(pluginError(path, "no '" WARREN_PLUGIN_SYMBOL "' descriptor (not a warren plugin)"));
  }
  WARREN_ASSIGN_OR_RETURN(auto checked, checkDescriptor(path, d));
  // ABI 1.2 lists its proto files; older plugins: scan the bytes.
  if (d->abi_minor >= 2 && d->struct_size >= kDescriptorBytesRead12) {
    for (const char* const* f = d->proto_files; f != nullptr && *f != nullptr; ++f) {
      std::string name;
      if (!readCString(*f, &name)) return fail(pluginError(path, "invalid proto file name"));
      checked.descriptor.proto_files.push_back(name);
    }
  } else {
    checked.descriptor.proto_files = scanProtoFiles(path);
  }
  return checked;
}

}  // namespace warren::plugins
