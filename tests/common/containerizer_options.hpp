// Options for a Containerizer over a TestEnv's dirs, cgroups root, plugins
// and warren-init (header-only: only binaries that link libwarren include it).
#pragma once

#include <string>
#include <vector>

#include "test_env.hpp"
#include "warren/containerizer.hpp"

namespace warren::testing {

inline Options testOptions(const TestEnv& env, std::vector<std::string> isolation) {
  Options o;
  o.work_dir = env.work_dir;
  o.runtime_dir = env.runtime_dir;
  o.cgroups_root = env.cgroups_root;
  o.plugin_dirs = {env.plugin_dir};
  o.init_path = env.init_path;
  o.isolation = std::move(isolation);
  return o;
}

}  // namespace warren::testing
