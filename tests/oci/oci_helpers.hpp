// Helpers of the warren-oci tests: a bundle made from the test busybox
// rootfs (config.json from `warren-oci spec`, adjusted), and running
// warren-oci the way a shim does - its stdio are files (a container created
// with them keeps them open, so nothing may wait for their EOF).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_env.hpp"

namespace warren::testing::oci {

struct OciRun {
  int code = -1;
  std::string out, err;
};

// Runs argv with stdin /dev/null and stdout/stderr into files under `dir`;
// waits for it (not for whatever inherited its stdio).
OciRun runOci(const std::string& dir, const std::vector<std::string>& argv, int timeout_s = 60);

// The build tree's warren-oci.
std::string ociBin();

// A bundle in `dir`: rootfs (a copy of the busybox rootfs) and config.json
// running `args`, cgroupsPath `/<tag>/<id>`.
nlohmann::json makeBundle(TestEnv& env, const std::string& dir, const std::string& id,
                          const std::vector<std::string>& args);
void writeConfig(const std::string& dir, const nlohmann::json& config);

// Whether `tool` is on PATH.
bool have(const std::string& tool);

// An OCI image archive (oci-archive tar) of the busybox rootfs, tagged
// `tag_name`, whose default command is `cmd`; "" (and a test failure) when
// umoci fails.
std::string buildArchive(TestEnv& env, const std::string& tag_name = "test",
                         const std::vector<std::string>& cmd = {"/bin/sh"});

// rmdir /sys/fs/cgroup/<c>/<tag> of every v1 hierarchy (the parents the
// tests' cgroupsPaths made); true when none is left.
bool removeTagCgroups();

std::string readFileOr(const std::string& path, const std::string& def = "");

}  // namespace warren::testing::oci
