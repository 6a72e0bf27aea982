// Checkpoints: one ContainerState per container, written atomically, and the
// file lock that serializes mutations across threads and processes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "layout.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/status.pb.h"

namespace warren::core {

class Store {
 public:
  Store(Layout layout, std::shared_ptr<spdlog::logger> log)
      : layout_(std::move(layout)), log_(std::move(log)) {}

  const Layout& layout() const { return layout_; }

  // Sealed (warren/sdk/record.hpp): format version + checksum.
  Result<void> save(const v1::ContainerState& state) const;
  // NotFound when the container has no checkpoint. A checkpoint that cannot
  // be read (empty, truncated, wrong format or checksum, or naming another
  // container) is quarantined - renamed to state.quarantined, one log line -
  // and reported as FailedPrecondition; so is one quarantined before.
  Result<v1::ContainerState> load(const v1::ContainerID& id) const;
  bool exists(const v1::ContainerID& id) const;
  // Every checkpointed container, parents before children.
  std::vector<v1::ContainerState> all() const;
  // Direct and indirect children of id, deepest first.
  std::vector<v1::ContainerState> descendants(const v1::ContainerID& id) const;
  // Runtime dirs that exist without a state file (a launch that crashed
  // before its first checkpoint), as IDs.
  std::vector<v1::ContainerID> stateless() const;
  // Containers whose checkpoint is quarantined: nobody acts on them, and
  // recover() tells the plugins they are known so nothing of theirs goes.
  std::vector<v1::ContainerID> quarantined() const;
  bool isQuarantined(const v1::ContainerID& id) const;

 private:
  struct Walk {
    std::vector<v1::ContainerState> states;
    std::vector<v1::ContainerID> missing;
    std::vector<v1::ContainerID> quarantined;
  };
  void walk(const std::string& dir, v1::ContainerID prefix, Walk& out) const;
  Layout layout_;
  std::shared_ptr<spdlog::logger> log_;
};

// An exclusive flock on <runtime_dir>/lock, held for the object's lifetime.
class FileLock {
 public:
  // create=false: a missing file is NotFound (acquire) / nullopt (tryAcquire)
  // instead of being created - for locks inside a dir that someone else may
  // be removing (a launch lock), where O_CREAT would leave the dir non-empty.
  static Result<FileLock> acquire(const std::string& path, bool create = true);
  // The lock when nobody holds it, else nullopt (never blocks).
  static std::optional<FileLock> tryAcquire(const std::string& path, bool create = true);

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace warren::core
