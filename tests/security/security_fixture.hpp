// Shared by the tests/security cases: the volumes/filesystem e2e fixture
// (libwarren with filesystem/linux, pid, volumes) plus what an attacker
// needs: the static exchange tool in the rootfs, host canaries, and a
// snapshot of a host directory to prove it was not touched.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>

#include "e2e_fixture.hpp"
#include "volume_spec.hpp"

namespace warren::testing {

class SecurityTest : public IsolatorE2E {
 protected:
  void SetUp() override {
    IsolatorE2E::SetUp();
    if (IsSkipped()) return;
    std::string tool = rootfs_ + "/bin/exchange";
    auto bytes = fs::readFile(SECURITY_EXCHANGE_BIN);
    ASSERT_TRUE(bytes) << SECURITY_EXCHANGE_BIN;
    ASSERT_TRUE(fs::writeFile(tool, *bytes));
    ::chmod(tool.c_str(), 0755);
  }

  static void addVolume(v1::ContainerConfig& cfg, const std::string& spec) {
    auto v = volumes::parseVolumeSpec(spec);
    ASSERT_TRUE(v) << v.error().message();
    *cfg.add_volumes() = *v;
  }

  // Every name under `dir` (recursively) with its size: a host directory's
  // fingerprint, compared before and after an attack.
  static std::map<std::string, long long> snapshot(const std::string& dir) {
    std::map<std::string, long long> out;
    for (const auto& n : listDir(dir)) {
      std::string p = dir + "/" + n;
      struct stat sb {};
      if (::lstat(p.c_str(), &sb) != 0) continue;
      out[p] = S_ISDIR(sb.st_mode) ? -1 : static_cast<long long>(sb.st_size);
      if (S_ISDIR(sb.st_mode)) {
        for (const auto& [k, v] : snapshot(p)) out[k] = v;
      }
    }
    return out;
  }

  // A host directory outside everything a container is given, with one file.
  std::string hostSecret(const std::string& name = "secret") {
    std::string d = env_.root + "/" + name;
    EXPECT_TRUE(fs::mkdirs(d));
    EXPECT_TRUE(fs::writeFile(d + "/canary", "host-only-canary-" + name + "\n"));
    return d;
  }
};

}  // namespace warren::testing
