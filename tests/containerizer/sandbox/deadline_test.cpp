// max_completion_time (issue #18): warren-init kills the command at its
// deadline and records why, whoever is (or is not) watching.
#include <gtest/gtest.h>

#include "sandbox_fixture.hpp"

namespace warren::testing {
namespace {

using ROOT_Deadline = SandboxTest;

TEST_F(ROOT_Deadline, ContainerIsKilledAtItsMaxCompletionTime) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  for (bool inherit : {false, true}) {  // relayed stdio, and the plain reaper
    SCOPED_TRACE(inherit ? "inherit_stdio" : "relay");
    auto cfg = shell("sleep 300");
    cfg.set_max_completion_time_ms(300);
    cfg.set_inherit_stdio(inherit);
    auto r = run(*c, inherit ? "late-i" : "late", cfg);
    EXPECT_EQ(r.termination.reason(), v1::Termination::MAX_COMPLETION_TIME) << r.termination.message();
    EXPECT_EQ(r.termination.signal(), SIGKILL);
    EXPECT_NE(r.termination.message().find("max_completion_time"), std::string::npos) << r.termination.message();
  }
  auto quick = shell("exit 4");
  quick.set_max_completion_time_ms(60000);
  auto r = run(*c, "quick", quick);
  EXPECT_EQ(r.termination.reason(), v1::Termination::COMMAND_EXITED);
  EXPECT_EQ(r.termination.exit_code(), 4);
}

TEST_F(ROOT_Deadline, TaskGroupMembersGetTheGroupsDeadlineUnlessTheyHaveTheirOwn) {
  auto c = makeFs();
  ASSERT_TRUE(c);
  ASSERT_TRUE(c->launch(id("pod"), shell("sleep 300")));
  v1::TaskGroup g;
  g.set_name("g");
  g.set_policy(v1::TaskGroup::INDEPENDENT);
  g.set_max_completion_time_ms(400);
  auto* slow = g.add_members();
  slow->set_name("slow");
  *slow->mutable_config() = nested("sleep 300");
  auto* own = g.add_members();
  own->set_name("own");
  *own->mutable_config() = nested("sleep 1; exit 3");
  own->mutable_config()->set_max_completion_time_ms(30000);
  ASSERT_TRUE(c->launchGroup(id("pod"), g));
  auto ends = c->waitGroup(id("pod"), "g", std::chrono::seconds(30));
  ASSERT_TRUE(ends) << ends.error().message();
  ASSERT_EQ(ends->size(), 2u);
  for (const auto& m : *ends) {
    std::string name = m.id.path(m.id.path_size() - 1);
    if (name == "slow") {
      EXPECT_EQ(m.termination.reason(), v1::Termination::MAX_COMPLETION_TIME) << m.termination.message();
    } else {
      EXPECT_EQ(m.termination.reason(), v1::Termination::COMMAND_EXITED) << m.termination.message();
      EXPECT_EQ(m.termination.exit_code(), 3);
    }
  }
  ASSERT_TRUE(c->destroy(id("pod")));
}

}  // namespace
}  // namespace warren::testing
