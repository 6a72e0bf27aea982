// Shared by the image provisioner tests: the plugin loaded through the real
// plugin host, a scratch env, and a recursive tree listing for comparisons.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "host/plugin_host.hpp"
#include "image_builder.hpp"
#include "test_env.hpp"
#include "warren/sdk/result.hpp"
#include "warren/v1/plugin.pb.h"

namespace warren::testing {

class ProvisionerEnv {
 public:
  explicit ProvisionerEnv(std::map<std::string, std::string> flags = {});
  ~ProvisionerEnv();

  plugins::Plugin& plugin() { return *plugin_; }
  const std::string& store() const { return store_; }  // the plugin's work dir
  std::string logs() const;
  TestEnv env;

  Result<v1::ProvisionResponse> provision(const std::string& id, const std::string& image,
                                          const std::string& backend = "", std::string rootfs = "");
  Result<void> destroy(const std::string& id);
  Result<v1::ImageInfo> pull(const std::string& ref);
  Result<v1::PruneResponse> prune();
  Result<v1::ImageList> images();
  // Names under <store>/<sub> (e.g. "layers", "tmp").
  std::vector<std::string> storeEntries(const std::string& sub) const;

 private:
  std::unique_ptr<plugins::PluginHost> host_;
  plugins::Plugin* plugin_ = nullptr;
  std::string store_;
  std::shared_ptr<std::ostringstream> logbuf_;
  std::shared_ptr<std::mutex> logmu_;
};

// "path type mode uid:gid detail" per entry (sorted, root excluded): detail
// is the content's sha256 for files, the target for symlinks.
std::string treeListing(const std::string& root);

bool overlayAvailable();
// A busybox-static layer (bin/busybox + applet symlinks + etc).
images::Layer busyboxLayer();

// A directory that a test's malicious layers try to reach.
std::string outsideDir(const TestEnv& env);

}  // namespace warren::testing
