// The disk/xfs isolator: enforces ContainerConfig.resources.disk_bytes with
// XFS project quotas when the work dir is on XFS mounted with prjquota. A
// limited container's sandbox (which holds its rootfs upper layer) gets a
// project id of its own with FS_XFLAG_PROJINHERIT, and the project a hard
// block limit: the kernel fails writes past it (ENOSPC for a project quota). Reaching the
// limit ends the container with DISK_LIMIT unless the config says passive.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "projects.hpp"
#include "warren/isolators/disk_xfs/config.pb.h"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/log.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::disk_xfs {

class XfsIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<XfsIsolator>> create(const v1::PluginContext& ctx);
  ~XfsIsolator() override;

  static v1::PluginInfo describe();  // container_fields: resources.disk_bytes
  v1::PluginInfo info() const override;
  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<v1::LaunchInfo> prepare(const v1::PrepareRequest& req) override;
  Result<void> isolate(const v1::IsolateRequest& req) override;
  Result<v1::WatchResponse> watch(const v1::WatchRequest& req) override;
  Result<void> update(const v1::UpdateRequest& req) override;
  Result<v1::ResourceStatistics> usage(const v1::ContainerRequest& req) override;
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  struct Watched {
    uint32_t project = 0;
    uint64_t limit = 0;
    UniqueFd pidfd;  // warren-init: signalled without any pid reuse race
  };

  XfsIsolator(Config config, ProjectRange range, UniqueFd fs, std::string records_dir);
  void loop();
  void watchLocked(const std::string& id, uint32_t project, uint64_t limit, int pid);
  Result<Held> loadLocked() const;
  // Gives the project's files back to the project around them (their
  // parent directory's), removes its limit and its record.
  Result<void> releaseLocked(uint32_t project, const Holding& h);
  Result<std::pair<uint32_t, Holding>> heldBy(const std::string& id) const;

  const Config config_;
  const ProjectRange range_;
  const UniqueFd fs_;  // the work dir: its file system's quotas
  dev_t dev_ = 0;
  uint64_t block_ = 4096;
  const std::string records_dir_;
  std::shared_ptr<sdk::Logger> log_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, Watched> watched_;          // by container ID
  std::map<std::string, v1::Limitation> exceeded_;  // kept until cleanup
  std::thread poller_;
};

}  // namespace warren::isolators::disk_xfs
