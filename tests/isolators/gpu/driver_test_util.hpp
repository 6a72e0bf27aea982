// A loader cache made by the real ldconfig that lists the stand-in driver
// libraries (WARREN_FAKE_DRIVER_DIR), for the driver-volume tests.
#pragma once

#include <string>

#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {

// Writes <dir>/ld.so.conf naming the stand-ins' directory and runs
// `ldconfig -X -C <dir>/ld.so.cache -f <dir>/ld.so.conf`; returns the cache's
// path, "" (with the reason in *why) when ldconfig fails.
inline std::string makeFakeDriverCache(const std::string& dir, std::string* why) {
  if (!fs::mkdirs(dir) || !fs::writeFile(dir + "/ld.so.conf", std::string(WARREN_FAKE_DRIVER_DIR) + "\n")) {
    *why = "cannot write " + dir + "/ld.so.conf";
    return "";
  }
  auto r = runCmd({"/sbin/ldconfig", "-X", "-C", dir + "/ld.so.cache", "-f", dir + "/ld.so.conf"});
  if (r.exit_code != 0) {
    *why = "ldconfig failed: " + r.err;
    return "";
  }
  return dir + "/ld.so.cache";
}

}  // namespace warren::testing
