// Issue #13: nothing lost, nothing killed by mistake. Each test reproduces
// one numbered case of the issue and shows the new behaviour.
#include <signal.h>
#include <sys/wait.h>

#include "fixture.hpp"
#include "residue.hpp"
#include "warren/sdk/record.hpp"

namespace warren::testing {
namespace {

// warren-init processes whose runtime dir (held open) is under `dir`.
std::vector<int> initsUnder(const std::string& dir) {
  std::vector<int> out;
  for (const auto& p : listDir("/proc")) {
    if (p.find_first_not_of("0123456789") != std::string::npos) continue;
    if (initRuntimeDir(p).find(dir) != std::string::npos) out.push_back(std::stoi(p));
  }
  return out;
}

// Field `n` (1-based, after comm) of /proc/<pid>/stat.
long statField(int pid, int n) {
  auto text = fs::readFile("/proc/" + std::to_string(pid) + "/stat");
  if (!text) return -1;
  auto close = text->rfind(')');
  std::istringstream in(text->substr(close + 2));
  std::string tok;
  for (int f = 3; f <= n; ++f) in >> tok;
  return std::stol(tok);
}

class ROOT_Robust : public ContainerizerTest {
 protected:
  std::vector<std::string> base() {
    return {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
            "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir,
            "--isolation", "pid", "--kill_grace", "0"};
  }
  CmdResult warren(std::vector<std::string> args, std::vector<std::string> env = {}) {
    auto argv = base();
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(60), env);
  }
  std::string stateFile(const std::string& cid) { return env_.runtime_dir + "/containers/" + cid + "/state"; }

  // Nothing of this test process remains: processes, cgroups, mounts.
  void expectNoResidue() {
    EXPECT_TRUE(eventually([&] { return initsUnder(env_.runtime_dir).empty(); }))
        << "warren-init left running";
    auto left = findResidue(tag());
    EXPECT_TRUE(left.empty()) << left.front();
  }
};

// Case 1: one empty `state` file made `ps` abort and `recover` kill every
// healthy container and remove all of run/containers.
TEST_F(ROOT_Robust, EmptyCheckpointIsQuarantinedAndNothingElseIsTouched) {
  auto c = make();
  auto healthy = c->launch(id("healthy"), shell("sleep 300"));
  ASSERT_TRUE(healthy) << healthy.error().message();
  auto victim = c->launch(id("victim"), shell("sleep 300"));
  ASSERT_TRUE(victim);
  ASSERT_TRUE(fs::writeFile(stateFile("victim"), ""));  // `: > state`

  auto ps = warren({"ps"});
  EXPECT_EQ(ps.exit_code, 0) << ps.err;
  EXPECT_NE(ps.out.find("healthy"), std::string::npos);
  EXPECT_TRUE(fs::exists(stateFile("victim") + ".quarantined"));
  EXPECT_NE(ps.err.find("victim"), std::string::npos) << "the quarantine is not silent: " << ps.err;

  auto st = c->status(id("victim"));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::FailedPrecondition);
  EXPECT_NE(st.error().message().find("quarantined"), std::string::npos) << st.error().message();

  auto r = c->recover();
  EXPECT_TRUE(r) << r.error().message();
  EXPECT_EQ(::kill(healthy->pid(), 0), 0) << "recover killed a healthy container";
  EXPECT_EQ(::kill(victim->pid(), 0), 0) << "recover killed the container with the bad record";
  EXPECT_TRUE(fs::exists(env_.runtime_dir + "/containers/victim"));
  EXPECT_TRUE(fs::exists(env_.work_dir + "/sandboxes/victim"));
  auto list = c->containers();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(formatId((*list)[0].id), "healthy");

  // The operator's clean-up of the quarantined one.
  ::kill(victim->pid(), SIGKILL);
  ::waitpid(victim->pid(), nullptr, 0);
  ASSERT_TRUE(fs::removeTree(env_.runtime_dir + "/containers/victim"));
  ASSERT_TRUE(fs::removeTree(env_.work_dir + "/sandboxes/victim"));
  ASSERT_TRUE(c->destroy(id("healthy"), std::chrono::milliseconds(0)));
  expectEmptyState();
  expectNoResidue();
}

TEST_F(ROOT_Robust, TruncatedAndForeignCheckpointsAreQuarantinedToo) {
  auto c = make();
  ASSERT_TRUE(c->launch(id("a"), shell("sleep 300")));
  ASSERT_TRUE(c->launch(id("b"), shell("sleep 300")));
  auto bytes = fs::readFile(stateFile("a"));
  ASSERT_TRUE(bytes);
  ASSERT_TRUE(fs::writeFile(stateFile("a"), bytes->substr(0, bytes->size() - 3)));  // truncated
  // b's file holds a valid record of a: a record naming another container.
  ASSERT_TRUE(fs::writeFile(stateFile("b"), *bytes));
  auto sa = c->status(id("a"));
  ASSERT_FALSE(sa);
  EXPECT_NE(sa.error().message().find("truncated"), std::string::npos) << sa.error().message();
  auto sb = c->status(id("b"));
  ASSERT_FALSE(sb);
  EXPECT_NE(sb.error().message().find("names container 'a'"), std::string::npos) << sb.error().message();
  EXPECT_TRUE(c->recover());
  // Clean up: nothing of ours acts on them, so the test does.
  for (const auto& p : initsUnder(env_.runtime_dir)) ::kill(p, SIGKILL);
  EXPECT_TRUE(eventually([&] { return initsUnder(env_.runtime_dir).empty(); }));
  ASSERT_TRUE(fs::removeTree(env_.runtime_dir + "/containers"));
  ASSERT_TRUE(fs::removeTree(env_.work_dir + "/sandboxes"));
  ASSERT_TRUE(fs::mkdirs(env_.runtime_dir + "/containers"));
  ASSERT_TRUE(fs::mkdirs(env_.work_dir + "/sandboxes"));
}

// Case 2: a second instance with another runtime dir but the same cgroups
// root ran `recover` and killed the first one's containers.
TEST_F(ROOT_Robust, SecondInstanceOnTheSameCgroupsRootIsRefused) {
  auto o1 = options();
  o1.claims_dir = env_.root + "/claims";
  auto c1 = Containerizer::create(o1);
  ASSERT_TRUE(c1) << c1.error().message();
  auto st = (*c1)->launch(id("owned"), shell("sleep 300"));
  ASSERT_TRUE(st);
  // The same instance (same runtime dir) may open it any number of times.
  auto again = Containerizer::create(o1);
  EXPECT_TRUE(again) << again.error().message();

  auto o2 = o1;
  o2.runtime_dir = env_.root + "/run2";
  o2.work_dir = env_.root + "/work2";
  auto c2 = Containerizer::create(o2);
  ASSERT_FALSE(c2);
  EXPECT_EQ(c2.error().code(), Code::FailedPrecondition);
  EXPECT_NE(c2.error().message().find("runtime dir '" + env_.runtime_dir + "'"), std::string::npos)
      << c2.error().message();
  EXPECT_EQ(c2.error().message().find('\n'), std::string::npos);
  EXPECT_EQ(::kill(st->pid(), 0), 0);

  // Once the owner has no containers left, another instance may take over.
  ASSERT_TRUE((*c1)->destroy(id("owned"), std::chrono::milliseconds(0)));
  auto c3 = Containerizer::create(o2);
  EXPECT_TRUE(c3) << c3.error().message();
}

// Case 3: warren-init stayed in the caller's process group and session, so
// `setsid bash -c 'warren launch ...; kill -KILL 0'` killed the container.
TEST_F(ROOT_Robust, KillingTheCallersProcessGroupSparesTheContainer) {
  std::string script;
  for (const auto& a : base()) script += "'" + a + "' ";
  script += "launch --id detached --rootfs '" + rootfs_ + "' -- /bin/sleep 300 >/dev/null; kill -KILL 0";
  auto r = runCmd({"/usr/bin/setsid", "/bin/sh", "-c", script});
  EXPECT_EQ(r.exit_code, 128 + SIGKILL) << r.err;
  auto c = make();
  auto st = c->status(id("detached"));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->state(), v1::RUNNING);
  EXPECT_EQ(::kill(st->pid(), 0), 0);
  // Its own session and process group.
  EXPECT_EQ(statField(st->pid(), 6), st->pid()) << "session";
  EXPECT_EQ(statField(st->pid(), 5), st->pid()) << "process group";
  ASSERT_TRUE(c->destroy(id("detached"), std::chrono::milliseconds(0)));
  expectEmptyState();
  expectNoResidue();
}

// Case 5 and the pid-0 window: a launcher killed before release. The init
// exits on its own, and wait/destroy/status resolve the container.
TEST_F(ROOT_Robust, LauncherKilledBeforeReleaseIsResolvedByWaitDestroyAndStatus) {
  for (const char* step : {"launch-spawned", "launch-pid-checkpointed", "launch-isolated"}) {
    for (const char* how : {"wait", "destroy", "status"}) {
      SCOPED_TRACE(std::string(step) + " then " + how);
      std::string cid = std::string("c-") + how;
      auto l = warren({"launch", "--id", cid, "--rootfs", rootfs_, "--", "/bin/sleep", "300"},
                      {std::string("WARREN_FAULT_KILL_AT=") + step});
      ASSERT_EQ(l.exit_code, 128 + SIGKILL) << l.err;
      // No init polls forever for a release that cannot come.
      EXPECT_TRUE(eventually([&] { return initsUnder(env_.runtime_dir).empty(); }));
      auto r = warren({how, cid});
      if (std::string(how) == "destroy") {
        EXPECT_EQ(r.exit_code, 0) << r.err;
      } else {
        EXPECT_NE(r.exit_code, 0);
        EXPECT_NE(r.err.find("interrupted"), std::string::npos) << how << ": " << r.err;
      }
      EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/" + cid));
      expectEmptyState();
    }
  }
  expectNoResidue();
}

// Case 10: killed right after the RUNNING checkpoint, before release: the
// container was RUNNING forever and `wait` hung.
TEST_F(ROOT_Robust, LauncherKilledAfterRunningCheckpointEndsAsLaunchFailed) {
  auto l = warren({"launch", "--id", "never", "--rootfs", rootfs_, "--", "/bin/sleep", "300"},
                  {"WARREN_FAULT_KILL_AT=launch-running-checkpointed"});
  ASSERT_EQ(l.exit_code, 128 + SIGKILL) << l.err;
  auto c = make();
  auto t = c->wait(id("never"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::LAUNCH_FAILED);
  EXPECT_NE(t->message().find("launcher exited before releasing"), std::string::npos) << t->message();
  ASSERT_TRUE(c->destroy(id("never")));
  expectEmptyState();
  expectNoResidue();
}

// Case 7: destroy sent SIGKILL at once.
TEST_F(ROOT_Robust, DestroySendsSigtermThenSigkillAfterTheGrace) {
  auto c = make();
  // Exits 3 on SIGTERM; "ready" once the trap is set.
  ASSERT_TRUE(c->launch(id("polite"), shell("trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done")));
  ASSERT_TRUE(eventually([&] { return stdoutOf("polite") == "ready\n"; }));
  auto t = c->destroy(id("polite"), std::chrono::seconds(30));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
  EXPECT_EQ(t->signal(), 0) << "the command exited by itself on SIGTERM";
  EXPECT_EQ(t->exit_code(), 3);

  // Ignores SIGTERM: SIGKILL after the grace.
  ASSERT_TRUE(c->launch(id("stubborn"), shell("trap '' TERM; echo ready; while :; do sleep 0.05; done")));
  ASSERT_TRUE(eventually([&] { return stdoutOf("stubborn") == "ready\n"; }));
  t = c->destroy(id("stubborn"), std::chrono::milliseconds(200));
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->reason(), v1::Termination::KILLED);
  EXPECT_EQ(t->signal(), SIGKILL);

  // Grace 0: SIGKILL at once, the trap never runs.
  ASSERT_TRUE(c->launch(id("abrupt"), shell("trap 'exit 3' TERM; echo ready; while :; do sleep 0.05; done")));
  ASSERT_TRUE(eventually([&] { return stdoutOf("abrupt") == "ready\n"; }));
  t = c->destroy(id("abrupt"), std::chrono::milliseconds(0));
  ASSERT_TRUE(t);
  EXPECT_EQ(t->signal(), SIGKILL);
  expectEmptyState();
}

// The residue check's own matching (issue #13, its last section).
TEST(ResidueTag, MatchesTheTagExactly) {
  EXPECT_TRUE(mentionsTag("/tmp/warren-test-12/1/run", "warren-test-12"));
  EXPECT_FALSE(mentionsTag("/tmp/warren-test-123/1/run", "warren-test-12"));
  EXPECT_TRUE(mentionsTag("warren-test-12", "warren-test-12"));
  EXPECT_TRUE(mentionsTag("x warren-test-123 warren-test-12/", "warren-test-12"));
  EXPECT_TRUE(mentionsTag("/sys/fs/cgroup/memory/warren-test-77", "warren-test"));
  EXPECT_FALSE(mentionsTag("/tmp/warren-test-dir", "warren-test"));
  EXPECT_FALSE(mentionsTag("/tmp/warren-tests", "warren-test"));
}

// Records in general: the envelope refuses what it cannot vouch for.
TEST(SealedRecord, RoundTripAndEveryDamageIsNamed) {
  std::string sealed = record::seal("payload");
  auto ok = record::unseal(sealed);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "payload");
  EXPECT_EQ(record::unseal("").error().message(), "empty record");
  EXPECT_NE(record::unseal(sealed.substr(0, sealed.size() - 1)).error().message().find("truncated"),
            std::string::npos);
  std::string flipped = sealed;
  flipped.back() ^= 1;
  EXPECT_EQ(record::unseal(flipped).error().message(), "record checksum mismatch");
  std::string v2 = sealed;
  v2[std::string("warren-record ").size()] = '2';
  EXPECT_NE(record::unseal(v2).error().message().find("record format 2"), std::string::npos);
  EXPECT_NE(record::unseal(std::string("not a record")).error().message().find("no record header"), std::string::npos);
}

// Case 12: `--image_provisioner_backend nope` was not a start-up error (the
// image provisioner loads only at the first image launch).
TEST_F(ROOT_Robust, BadBackendOrPullPolicyIsAStartUpError) {
  auto o = options();
  o.plugin_flags["image_provisioner_backend"] = "nope";
  auto c = Containerizer::create(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "invalid --image_provisioner_backend 'nope' (expected overlay, copy, bind or auto)");
  o.plugin_flags["image_provisioner_backend"] = "auto";
  o.plugin_flags["pull"] = "sometimes";
  c = Containerizer::create(o);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "invalid --pull 'sometimes' (expected missing, always or never)");
  o.plugin_flags["pull"] = "never";
  c = Containerizer::create(o);
  EXPECT_TRUE(c) << c.error().message();
}

}  // namespace
}  // namespace warren::testing
