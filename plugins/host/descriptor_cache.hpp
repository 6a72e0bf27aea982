// A cache of checked plugin descriptors, keyed by file identity (path, size,
// mtime). Listing plugins then needs no dlopen: a library is loaded (and its
// descriptor checked again) only when an instance of it is first made. Every
// `warren` CLI run scans all plugin dirs, and dlopen of a provisioner that
// pulls in libcurl and OpenSSL costs more than a whole container launch.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "host/plugin_host.hpp"

namespace warren::plugins {

class DescriptorCache {
 public:
  explicit DescriptorCache(std::string file) : file_(std::move(file)) {}

  void load();
  // The cached descriptor when the file is unchanged since it was checked.
  std::optional<Descriptor> find(const std::string& path) const;
  void put(const Descriptor& d);
  // Writes the cache (atomically) when something changed; best effort.
  void save();

 private:
  struct Entry {
    std::string identity;  // size:mtime_ns
    Descriptor d;
  };
  static std::string identityOf(const std::string& path);
  std::string file_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
};

}  // namespace warren::plugins
