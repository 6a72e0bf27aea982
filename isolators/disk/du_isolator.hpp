// The disk/du isolator: enforces ContainerConfig.resources.disk_bytes on a
// container's sandbox (which holds its rootfs upper layer, .warren/rootfs) by
// measuring it periodically, as Mesos's disk/du does. Over the limit, the
// container's warren-init is SIGKILLed (through a pidfd taken at isolate)
// and WATCH reports a DISK limitation; the core ends it with DISK_LIMIT.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "warren/isolators/disk_du/config.pb.h"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/log.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::isolators::disk_du {

// Bytes allocated below `dir` (st_blocks, each inode once, symlinks not
// followed, other file systems not entered). Files that vanish meanwhile
// are skipped.
uint64_t diskUsage(const std::string& dir);

class DuIsolator final : public sdk::Isolator {
 public:
  static Result<std::unique_ptr<DuIsolator>> create(const v1::PluginContext& ctx);
  ~DuIsolator() override;

  static v1::PluginInfo describe();  // container_fields: resources.disk_bytes
  v1::PluginInfo info() const override;
  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<void> isolate(const v1::IsolateRequest& req) override;
  Result<v1::WatchResponse> watch(const v1::WatchRequest& req) override;
  Result<void> update(const v1::UpdateRequest& req) override;
  Result<v1::ResourceStatistics> usage(const v1::ContainerRequest& req) override;  // measured now
  Result<void> cleanup(const v1::ContainerRequest& req) override;

 private:
  struct Watched {
    std::string sandbox;
    uint64_t limit = 0;
    UniqueFd pidfd;  // warren-init: signalled without any pid reuse race
  };

  explicit DuIsolator(uint32_t interval_ms);
  void loop();
  void watchLocked(const std::string& id, const std::string& sandbox, uint64_t limit, int pid);

  const uint32_t interval_ms_;
  std::shared_ptr<sdk::Logger> log_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::map<std::string, Watched> watched_;         // by container ID
  std::map<std::string, v1::Limitation> exceeded_;  // kept until cleanup
  std::thread poller_;
};

}  // namespace warren::isolators::disk_du
