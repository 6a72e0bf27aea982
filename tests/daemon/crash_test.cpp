// SIGKILL of warrend mid-launch and mid-group-launch: after a restart every
// container is running or cleanly gone, and every exit status is kept.
#include <signal.h>

#include <thread>

#include "daemon_test_base.hpp"

namespace warren::testing {
namespace {

class ROOT_DaemonCrash : public DaemonTest {
 protected:
  void restart() {
    d_->kill9();
    d_->start();
  }
  // Gone cleanly: no record, no runtime dir, no sandbox.
  void expectGone(const std::string& top) {
    EXPECT_TRUE(entry(top).is_null());
    EXPECT_FALSE(fs::exists(env_.runtime_dir + "/containers/" + top))
        << top << " holds: " << ::testing::PrintToString(listDir(env_.runtime_dir + "/containers/" + top));
    EXPECT_FALSE(fs::exists(env_.work_dir + "/sandboxes/" + top));
    // warrend ends orphaned inits after recovering and every 2 s after.
    EXPECT_TRUE(eventually([&] { return initsUnder(env_.runtime_dir + "/containers/" + top) == 0; },
                           std::chrono::seconds(6)))
        << top;
  }
  // warren-init processes whose runtime dir is under `dir`.
  static int initsUnder(const std::string& dir) {
    int n = 0;
    if (DIR* d = opendir("/proc")) {
      while (dirent* e = readdir(d)) {
        if (initRuntimeDir(e->d_name) == dir) ++n;
      }
      closedir(d);
    }
    return n;
  }
};

TEST_F(ROOT_DaemonCrash, TerminationsThatHappenWhileWarrendIsDownAreKept) {
  ASSERT_EQ(d_->call(launchCall("done", "exit 7", rootfs_)).status, 200);
  ASSERT_EQ(termination(d_->call(waitCall("done")))["exit_status"], 7 << 8);
  std::string root = env_.makeRootfs("pending");
  auto pending = launchCall("pending", "while [ ! -e /go ]; do sleep 0.05; done; exit 9", root);
  pending["launch_container"]["warren"]["config"]["rootfs_writable"] = true;  // signalled through it
  ASSERT_EQ(d_->call(pending).status, 200);
  d_->kill9();
  ASSERT_TRUE(fs::writeFile(root + "/go", "1"));
  ::usleep(500000);  // it ends while no warrend runs
  d_->start();
  EXPECT_EQ(termination(d_->call(waitCall("pending")))["exit_status"], 9 << 8);
  EXPECT_EQ(termination(d_->call(waitCall("done")))["exit_status"], 7 << 8);
}

TEST_F(ROOT_DaemonCrash, SigkillMidLaunchTwentyTimes) {
  ASSERT_EQ(d_->call(launchCall("done", "exit 7", rootfs_)).status, 200);
  ASSERT_EQ(termination(d_->call(waitCall("done")))["exit_status"], 7 << 8);
  int running = 0, gone = 0, failed = 0;
  for (int i = 0; i < 20; ++i) {
    std::string id = "c" + std::to_string(i);
    std::thread t([&] { (void)d_->call(launchCall(id, "sleep 600", rootfs_)); });
    ::usleep(static_cast<useconds_t>(i * 10000));  // 0..190 ms into the launch
    restart();
    t.join();
    auto e = entry(id);
    if (e.is_null()) {
      expectGone(id);
      ++gone;
    } else if (e["state"] == "TERMINATED") {
      // The core's recovery may also end a launch whose launcher died after
      // the init existed: a LAUNCH_FAILED record, nothing left running. The
      // listing can show TERMINATED (init gone) a moment before the
      // supervisor wrote the record, so the record is read with a wait.
      Json w = termination(d_->call(waitCall(id)));
      std::string reason = w.is_object() && w["termination"].is_object() ? w["termination"].value("reason", "") : "";
      EXPECT_EQ(reason, "LAUNCH_FAILED") << id << ": " << e.dump() << " " << w.dump();
      EXPECT_TRUE(eventually([&] { return initsUnder(env_.runtime_dir + "/containers/" + id) == 0; },
                             std::chrono::seconds(6)))
          << id;
      ++failed;
    } else {
      EXPECT_EQ(e["state"], "RUNNING") << id << ": " << e.dump();
      ++running;
    }
    EXPECT_EQ(termination(d_->call(waitCall("done")))["exit_status"], 7 << 8) << "after try " << i;
  }
  std::cout << "mid-launch SIGKILL: " << running << " running, " << gone << " cleanly gone, " << failed
            << " ended LAUNCH_FAILED\n";
  EXPECT_EQ(running + gone + failed, 20);
}

TEST_F(ROOT_DaemonCrash, SigkillMidGroupLaunchTwentyTimes) {
  ASSERT_EQ(d_->call(launchCall("pod", "sleep 600", rootfs_)).status, 200);
  int all = 0, none = 0;
  for (int i = 0; i < 20; ++i) {
    std::string g = "g" + std::to_string(i);
    Json call = Json::parse(R"({"type": "LAUNCH_GROUP", "launch_group": {
        "parent": {"value": "pod"}, "task_group": {"name": "G", "members": [
          {"name": "Ga", "config": {"command": {"value": "sleep 600", "shell": true}}},
          {"name": "Gb", "config": {"command": {"value": "sleep 600", "shell": true}}},
          {"name": "Gc", "config": {"command": {"value": "sleep 600", "shell": true}}}]}}})");
    call["launch_group"]["task_group"]["name"] = g;
    for (auto& m : call["launch_group"]["task_group"]["members"]) {
      m["name"] = g + std::string(m["name"]).substr(1);
    }
    std::thread t([&] { (void)d_->call(call); });
    ::usleep(static_cast<useconds_t>(i * 30000));  // 0..570 ms into the launch
    restart();
    t.join();
    int present = 0;
    for (const char* m : {"a", "b", "c"}) {
      auto e = entry("pod." + g + m);
      if (e.is_null()) continue;
      ++present;
      EXPECT_EQ(e["state"], "RUNNING") << g << m << ": " << e.dump();
    }
    EXPECT_TRUE(present == 0 || present == 3) << g << ": " << present << " of 3 members";
    if (present == 0) {
      for (const char* m : {"a", "b", "c"}) {
        std::string dir = env_.runtime_dir + "/containers/pod/containers/" + g + m;
        EXPECT_TRUE(eventually([&] { return initsUnder(dir) == 0; }, std::chrono::seconds(6))) << g << m;
      }
    }
    (present == 3 ? all : none)++;
  }
  std::cout << "mid-group-launch SIGKILL: " << all << " groups whole, " << none << " cleanly gone\n";
  EXPECT_EQ(entry("pod")["state"], "RUNNING");
}

}  // namespace
}  // namespace warren::testing
