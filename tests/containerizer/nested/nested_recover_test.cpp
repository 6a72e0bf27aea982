// Recovery of a 3-level tree: running levels adopted intact, a child that
// exited meanwhile reports its real exit code.
#include <signal.h>
#include <sys/wait.h>

#include "../core/fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_NestedRecover = ContainerizerTest;

TEST_F(ROOT_NestedRecover, ThreeLevelTreeIsAdoptedAndExitCodesSurvive) {
  std::vector<int> pids;
  {
    auto c1 = make();
    for (const char* cid : {"r", "r.mid"}) {
      auto cfg = shell("sleep 300");
      if (std::string(cid) != "r") cfg.clear_rootfs();
      auto st = c1->launch(id(cid), cfg);
      ASSERT_TRUE(st) << st.error().message();
      pids.push_back(st->pid());
    }
    auto cfg = shell("sleep 0.3; exit 4");
    cfg.clear_rootfs();
    ASSERT_TRUE(c1->launch(id("r.mid.leaf"), cfg));
    auto cfg2 = shell("sleep 300");
    cfg2.clear_rootfs();
    auto st = c1->launch(id("r.mid.runner"), cfg2);
    ASSERT_TRUE(st);
    pids.push_back(st->pid());
  }  // containerizer gone; the leaf exits while none runs
  usleep(800 * 1000);
  auto c2 = make();
  ASSERT_TRUE(c2->recover());
  EXPECT_EQ(c2->status(id("r"))->state(), v1::RUNNING);
  EXPECT_EQ(c2->status(id("r.mid"))->state(), v1::RUNNING);
  EXPECT_EQ(c2->status(id("r.mid.runner"))->state(), v1::RUNNING);
  for (int p : pids) EXPECT_EQ(::kill(p, 0), 0);
  auto t = c2->wait(id("r.mid.leaf"), std::chrono::seconds(5));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->exit_code(), 4);
  EXPECT_EQ(t->reason(), v1::Termination::COMMAND_EXITED);
  ASSERT_TRUE(c2->destroy(id("r")));
  for (int p : pids) EXPECT_NE(::kill(p, 0), 0);
  expectEmptyState();
}

}  // namespace
}  // namespace warren::testing
