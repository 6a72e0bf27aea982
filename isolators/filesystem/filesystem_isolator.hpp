// filesystem/linux: describes a container's root filesystem for warren-init
// (pivot_root into the rootfs, minimal /dev, read-only /sys, masked and
// read-only paths, optional read-only rootfs) and removes any mount of ours
// left on the host: at cleanup below the container's directories, at
// recover below work_dir and runtime_dir for every unknown container.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "warren/sdk/log.hpp"

#include "linux_layout.hpp"
#include "mount_table.hpp"
#include "warren/isolators/filesystem_linux/config.pb.h"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::filesystem {

// The config proto package follows the short name (filesystem/linux).
using Config = filesystem_linux::Config;
using ContainerRecord = filesystem_linux::ContainerRecord;

class LinuxFilesystemIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<LinuxFilesystemIsolator>> create(const v1::PluginContext& ctx);
  static v1::PluginInfo describe();  // container_fields: ipc_mode, shm_size_bytes
  v1::PluginInfo info() const override;

  Result<void> recover(const v1::RecoverRequest& request) override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& request) override;
  Result<void> cleanup(const v1::ContainerRequest& request) override;

 private:
  LinuxFilesystemIsolator(LayoutOptions options, std::string work_dir, std::string runtime_dir,
                          std::string records_dir);

  std::string recordPath(const std::string& id) const;
  Result<void> writeRecord(const ContainerRecord& record) const;
  std::map<std::string, ContainerRecord> loadRecords() const;
  // Only directories below work_dir or runtime_dir are ours to sweep.
  bool ours(const std::string& path) const;
  // Read mountinfo once, unmount the plan, fold failures into one error.
  Result<int> sweep(const SweepScope& scope, const std::string& what) const;

  LayoutOptions options_;
  std::string work_dir_;     // canonical
  std::string runtime_dir_;  // canonical
  std::string records_dir_;
  std::shared_ptr<sdk::Logger> log_;
};

}  // namespace warren::isolators::filesystem
