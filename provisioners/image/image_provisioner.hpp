// org.warren.provisioner.image ("image"): turns an image reference into a
// container rootfs. Stores: OCI layout, oci-archive, docker-archive, a
// registry (docker://). Backends: overlay, copy, bind.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "warren/sdk/log.hpp"

#include "store.hpp"
#include "warren/sdk/plugin.hpp"

namespace warren::provisioners::image {

class ImageProvisioner : public sdk::Provisioner {
 public:
  static Result<std::unique_ptr<ImageProvisioner>> create(const v1::PluginContext& ctx);
  // The operator flags it reads (flags.cpp); the host reads them without an instance.
  static v1::PluginInfo describe();

  v1::PluginInfo info() const override;
  Result<void> recover(const v1::RecoverRequest& req) override;
  Result<v1::ProvisionResponse> provision(const v1::ProvisionRequest& req) override;
  Result<void> destroy(const v1::ContainerRequest& req) override;
  Result<v1::ImageInfo> pull(const v1::ImageRequest& req) override;
  Result<v1::ImageList> listImages(const v1::Empty&) override;
  Result<v1::PruneResponse> prune(const v1::Empty&) override;

 private:
  ImageProvisioner(Store store, SourceOptions opts, std::string backend,
                   std::shared_ptr<sdk::Logger> log)
      : store_(std::move(store)), opts_(std::move(opts)), backend_(std::move(backend)), log_(std::move(log)) {}

  Result<std::string> chooseBackend(const std::string& requested);
  // known_rootfs: the rootfs warren recorded, used when our record is unreadable.
  Result<void> destroyById(const std::string& id, const std::string& known_rootfs);
  Result<v1::ProvisionResponse> assemble(const std::string& id, const ImageRecord& img, std::string backend,
                                         const std::string& rootfs, bool auto_backend);

  Store store_;
  SourceOptions opts_;
  std::string backend_;  // operator's choice ("" = auto)
  // --pull: "missing" (default: a registry image already in the store is used
  // as is, offline), "always" (resolve again every time), "never" (only the
  // store). Local layouts and archives are always read (they are local).
  std::string pull_policy_ = "missing";
  std::shared_ptr<sdk::Logger> log_;
  std::mutex probe_mu_;
  std::optional<bool> overlay_ok_;
};

}  // namespace warren::provisioners::image
