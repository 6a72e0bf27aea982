// Checkpoints: one ContainerState per container, written atomically, and the
// file lock that serializes mutations across threads and processes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "layout.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/status.pb.h"

namespace warren::core {

class Store {
 public:
  explicit Store(Layout layout) : layout_(std::move(layout)) {}

  const Layout& layout() const { return layout_; }

  Result<void> save(const v1::ContainerState& state) const;
  // NotFound when the container has no checkpoint.
  Result<v1::ContainerState> load(const v1::ContainerID& id) const;
  bool exists(const v1::ContainerID& id) const;
  // Every checkpointed container, parents before children.
  std::vector<v1::ContainerState> all() const;
  // Direct and indirect children of id, deepest first.
  std::vector<v1::ContainerState> descendants(const v1::ContainerID& id) const;
  // Runtime dirs that exist without a state file (a launch that crashed
  // before its first checkpoint), as IDs.
  std::vector<v1::ContainerID> stateless() const;

 private:
  void walk(const std::string& dir, v1::ContainerID prefix, std::vector<v1::ContainerState>& out,
            std::vector<v1::ContainerID>* missing) const;
  Layout layout_;
};

// An exclusive flock on <runtime_dir>/lock, held for the object's lifetime.
class FileLock {
 public:
  static Result<FileLock> acquire(const std::string& path);

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace warren::core
