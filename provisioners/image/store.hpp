// The content-addressed layer store under the plugin's work dir:
//   layers/<hex>/rootfs   one unpacked layer (overlay whiteout form), shared
//   layers/<hex>/size     its unpacked size in bytes
//   images/<key>.json     what a reference resolved to (layers, config)
//   containers/<id>.json  which image/layers/backend a container uses
//   containers/<id>/      its overlay upper/work dirs
//   locks/                flock files: store.lock (shared by pulls and
//                         provisions, exclusive for prune), <hex>.lock per layer
//   tmp/                  downloads and half-unpacked layers
// A layer appears under layers/ only complete (unpacked in tmp, then renamed).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "warren/sdk/log.hpp"

#include "reference.hpp"
#include "stores/source.hpp"
#include "warren/sdk/fd.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::provisioners::image {

struct ImageRecord {
  std::string reference;  // canonical
  std::string manifest_digest;
  std::string config_digest;
  std::vector<std::string> layers;  // digests, bottom first
  v1::ImageConfig config;
  uint64_t size_bytes = 0;
};

struct ContainerRecord {
  std::string id;  // "a.b"
  std::string image;
  std::string backend;
  std::string rootfs;
  std::vector<std::string> layers;
};

class Store {
 public:
  Store(std::string root, std::shared_ptr<sdk::Logger> log) : root_(std::move(root)), log_(std::move(log)) {}
  Result<void> init();

  const std::string& root() const { return root_; }
  std::string tmpDir() const { return root_ + "/tmp"; }
  Result<std::string> layerRootfs(const std::string& digest) const;
  std::string containerDir(const std::string& id) const { return root_ + "/containers/" + id; }

  // flock on locks/store.lock: shared for pull/provision, exclusive for prune.
  Result<UniqueFd> lock(bool exclusive);
  // The exclusive lock when nobody holds the store lock, else nullopt.
  std::optional<UniqueFd> tryLockExclusive();
  std::vector<std::string> tmpEntries() const;

  // Resolve `ref`, then make sure each layer is unpacked (downloaded,
  // verified, extracted - once, whoever asks concurrently). Caller holds
  // the shared store lock.
  Result<ImageRecord> pull(const Reference& ref, const SourceOptions& opts);

  Result<std::vector<ImageRecord>> images() const;
  // What `ref` resolved to last time, when every layer of it is unpacked
  // here (no network); NotFound otherwise.
  Result<ImageRecord> cached(const Reference& ref) const;

  Result<void> writeContainer(const ContainerRecord& c);
  Result<ContainerRecord> readContainer(const std::string& id) const;  // NotFound when absent
  Result<void> removeContainer(const std::string& id);
  std::vector<std::string> containerIds() const;
  // Containers whose record was quarantined (<id>.json.quarantined).
  std::vector<std::string> quarantinedIds() const;

  struct Pruned {
    std::vector<std::string> removed;
    uint64_t freed_bytes = 0;
  };
  // Removes images and layers no container record uses (exclusive lock).
  Result<Pruned> prune();

 private:
  // The image's remaining budget while its layers are unpacked.
  struct Budget {
    uint64_t bytes = 0;
    uint64_t files = 0;
  };
  Result<void> ensureLayer(Source& src, const BlobRef& layer, size_t index, size_t count,
                           const std::string& what, const Budget& left, const sdk::CancelToken* cancel);
  Result<void> unpackLayer(Source& src, const BlobRef& layer, const std::string& hex,
                           const std::string& what, const Budget& left, const sdk::CancelToken* cancel);
  uint64_t layerSize(const std::string& hex) const;
  uint64_t layerFiles(const std::string& hex) const;
  std::string imageKey(const std::string& reference) const;

  std::string root_;
  std::shared_ptr<sdk::Logger> log_;
};

}  // namespace warren::provisioners::image
