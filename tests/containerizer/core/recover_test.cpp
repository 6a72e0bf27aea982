// Restarts: a second Containerizer (or process) picks up where the first
// left off - running containers adopted, exited ones reported with their
// recorded status, half-made ones and orphans destroyed.
#include <signal.h>
#include <sys/wait.h>

#include "fixture.hpp"
#include "warren/sdk/record.hpp"

namespace warren::testing {
namespace {

using ROOT_Recover = ContainerizerTest;

TEST_F(ROOT_Recover, AnotherContainerizerWaitsForTheExitCode) {
  {
    auto c1 = make();
    ASSERT_TRUE(c1->launch(id("handoff"), shell("sleep 0.3; exit 5")));
  }  // the launching containerizer is gone
  auto c2 = make();
  ASSERT_TRUE(c2->recover());
  auto t = c2->wait(id("handoff"), std::chrono::seconds(20));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->exit_code(), 5);
  ASSERT_TRUE(c2->destroy(id("handoff")));
}

TEST_F(ROOT_Recover, ExitedWhileNobodyWatchedReportsRecordedStatus) {
  int pid = -1;
  {
    auto c1 = make();
    auto st = c1->launch(id("quiet"), shell("exit 7"));
    ASSERT_TRUE(st);
    pid = st->pid();
  }
  // Let it exit (and reap it: this test process was its parent) with no
  // containerizer alive.
  int status = 0;
  waitpid(pid, &status, 0);
  auto c2 = make();
  ASSERT_TRUE(c2->recover());
  auto list = c2->containers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].state, v1::TERMINATED);
  auto t = c2->wait(id("quiet"), std::chrono::seconds(5));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->exit_code(), 7);
  EXPECT_EQ(t->reason(), v1::Termination::COMMAND_EXITED);
  ASSERT_TRUE(c2->destroy(id("quiet")));
  expectEmptyState();
}

TEST_F(ROOT_Recover, RunningContainerIsAdopted) {
  int pid = -1;
  {
    auto c1 = make();
    auto st = c1->launch(id("adoptee"), shell("sleep 300"));
    ASSERT_TRUE(st);
    pid = st->pid();
  }
  auto c2 = make();
  ASSERT_TRUE(c2->recover());
  auto st = c2->status(id("adoptee"));
  ASSERT_TRUE(st);
  EXPECT_EQ(st->state(), v1::RUNNING);
  EXPECT_EQ(st->pid(), pid);
  EXPECT_EQ(::kill(pid, 0), 0);
  auto t = c2->destroy(id("adoptee"));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
}

TEST_F(ROOT_Recover, HalfLaunchedContainersAndOrphansAreDestroyed) {
  auto c = make();
  // A launch that crashed after its checkpoint said PREPARING.
  v1::ContainerState st;
  *st.mutable_id() = id("halfway");
  st.set_state(v1::PREPARING);
  st.add_isolators("pid");
  st.set_sandbox(env_.work_dir + "/sandboxes/halfway");
  ASSERT_TRUE(fs::mkdirs(env_.runtime_dir + "/containers/halfway"));
  ASSERT_TRUE(fs::mkdirs(st.sandbox()));
  std::string bytes;
  st.SerializeToString(&bytes);
  ASSERT_TRUE(fs::writeFile(env_.runtime_dir + "/containers/halfway/state", record::seal(bytes)));
  // A launch that crashed before its first checkpoint, and a stray sandbox.
  ASSERT_TRUE(fs::mkdirs(env_.runtime_dir + "/containers/nocheckpoint"));
  ASSERT_TRUE(fs::mkdirs(env_.work_dir + "/sandboxes/stray"));
  // A real running container that must survive all this.
  ASSERT_TRUE(c->launch(id("keeper"), shell("sleep 300")));

  ASSERT_TRUE(c->recover());
  auto list = c->containers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(formatId((*list)[0].id), "keeper");
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/halfway"));
  EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/nocheckpoint"));
  EXPECT_FALSE(fs::exists(env_.work_dir + "/sandboxes/stray"));
  EXPECT_FALSE(fs::exists(env_.work_dir + "/sandboxes/halfway"));
  ASSERT_TRUE(c->destroy(id("keeper")));
  expectEmptyState();
}

TEST_F(ROOT_Recover, PidReuseIsNotMistakenForTheContainer) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("reused"), shell("sleep 300")));
  // Forge the checkpoint: same pid, different start time (a reused pid).
  std::string path = env_.runtime_dir + "/containers/reused/state";
  auto bytes = record::readSealed(path);
  ASSERT_TRUE(bytes);
  v1::ContainerState st;
  ASSERT_TRUE(st.ParseFromString(*bytes));
  int real_pid = st.pid();
  uint64_t real_start = st.start_time();
  st.set_start_time(real_start + 12345);
  std::string out;
  st.SerializeToString(&out);
  ASSERT_TRUE(fs::writeFile(path, record::seal(out)));
  auto s = c->status(id("reused"));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state(), v1::TERMINATED);  // not "our" process any more
  // Put the truth back and clean up for real.
  st.set_start_time(real_start);
  st.SerializeToString(&out);
  ASSERT_TRUE(fs::writeFile(path, record::seal(out)));
  ASSERT_TRUE(c->destroy(id("reused")));
  EXPECT_NE(::kill(real_pid, 0), 0);
}

}  // namespace
}  // namespace warren::testing
