// main() for every test binary: fails the run when the test left anything of
// ours behind (checked after all tests of this process ran).
#include <gtest/gtest.h>

#include "residue.hpp"
#include "test_env.hpp"

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
  }
};

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new ResidueCheck);
  return RUN_ALL_TESTS();
}
