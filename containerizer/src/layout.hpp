// Where a container's files live.
//   <runtime_dir>/containers/<a>/containers/<b>/{state,exit_status}
//   <work_dir>/sandboxes/<a>/containers/<b>/{stdout,stderr,...}
// A child's directories live inside its parent's, so removing a parent
// removes every trace of its descendants too.
#pragma once

#include <string>

#include "warren/v1/container.pb.h"

namespace warren::core {

struct Layout {
  std::string work_dir;
  std::string runtime_dir;

  std::string containersRoot() const { return runtime_dir + "/containers"; }
  std::string sandboxesRoot() const { return work_dir + "/sandboxes"; }
  std::string lockFile() const { return runtime_dir + "/lock"; }

  std::string runtimeDir(const v1::ContainerID& id) const { return nest(containersRoot(), id); }
  std::string sandboxDir(const v1::ContainerID& id) const { return nest(sandboxesRoot(), id); }
  std::string stateFile(const v1::ContainerID& id) const { return runtimeDir(id) + "/state"; }
  // Held by the launching process for the whole launch: whoever can take it
  // while the container is still launching knows its launcher is gone.
  std::string launchLockFile(const v1::ContainerID& id) const { return runtimeDir(id) + "/launch.lock"; }
  // Written by destroy() while a launch provisions without the state lock.
  std::string cancelFile(const v1::ContainerID& id) const { return runtimeDir(id) + "/cancel"; }
  std::string exitStatusFile(const v1::ContainerID& id) const {
    return runtimeDir(id) + "/exit_status";
  }

 private:
  static std::string nest(const std::string& root, const v1::ContainerID& id) {
    std::string p = root;
    for (int i = 0; i < id.path_size(); ++i) {
      if (i > 0) p += "/containers";
      p += "/" + id.path(i);
    }
    return p;
  }
};

}  // namespace warren::core
