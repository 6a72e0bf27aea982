// main() for every test binary: fails the run when the test left anything of
// ours behind (checked after all tests of this process ran).
#include <gtest/gtest.h>

#include "residue.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace {

class ResidueCheck : public ::testing::Environment {
 public:
  void TearDown() override {
    if (!warren::testing::isRoot()) return;
    auto tag = warren::testing::tag();
    auto left = warren::testing::findResidue(tag);
    auto roots = warren::testing::removeCgroupRoots(tag);
    left.insert(left.end(), roots.begin(), roots.end());
    for (const auto& l : left) ADD_FAILURE() << "residue after tests: " << l;
    // The per-process scratch dir (shared busybox rootfs, emptied TestEnvs).
    // removeTree never crosses a mount, so a leaked mount stays visible.
    if (left.empty()) (void)warren::fs::removeTree("/tmp/" + tag);
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ResidueCheck);
  return RUN_ALL_TESTS();
}
