// warren-oci driven directly, as a shim does: create (held, pid file), state,
// start, the exit status reaped by the test acting as the shim's subreaper,
// kill, delete, cgroupsPath honoured exactly, unknown fields refused.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "oci_helpers.hpp"

namespace warren::testing::oci {
namespace {

using nlohmann::json;

class OciLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    state_root_ = env_.root + "/oci-state";
    // As containerd's shim and conmon are: the container's init is
    // reparented to us when warren-oci exits, and we reap its exit status.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  }
  void TearDown() override {
    if (!isRoot()) return;
    for (const auto& id : ids_) runOci(env_.root, {ociBin(), "--root", state_root_, "delete", "--force", id});
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {}
    EXPECT_TRUE(removeTagCgroups());
  }

  OciRun oci(std::vector<std::string> args) {
    std::vector<std::string> argv = {ociBin(), "--root", state_root_, "--log", env_.root + "/oci.log",
                                     "--log-format", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runOci(env_.root, argv);
  }
  json state(const std::string& id) {
    auto r = oci({"state", id});
    if (r.code != 0) return json{{"error", r.err}};
    return json::parse(r.out);
  }
  std::string bundle(const std::string& id, const std::vector<std::string>& args) {
    std::string dir = env_.root + "/bundle-" + id;
    config_ = makeBundle(env_, dir, id, args);
    ids_.push_back(id);
    return dir;
  }
  // The status warren-init exits with, reaped as the shim's reaper does.
  int reap(int pid) {
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  TestEnv env_;
  std::string state_root_;
  std::vector<std::string> ids_;
  json config_;
};

TEST_F(OciLifecycle, ROOT_CreateHoldsStartRunsExitStatusReapedDeleteRemoves) {
  std::string dir = bundle("life1", {"/bin/sh", "-c", "echo ran > /ran; exit 7"});
  config_["linux"]["resources"]["memory"] = {{"limit", 64 << 20}};
  config_["linux"]["resources"]["pids"] = {{"limit", 32}};
  writeConfig(dir, config_);
  std::string rootfs = config_["root"]["path"];

  auto c = oci({"create", "--bundle", dir, "--pid-file", dir + "/pid", "life1"});
  ASSERT_EQ(c.code, 0) << c.err;
  int pid = std::stoi(readFileOr(dir + "/pid", "0"));
  ASSERT_GT(pid, 0);
  auto s = state("life1");
  EXPECT_EQ(s["status"], "created") << s.dump();
  EXPECT_EQ(s["pid"], pid);
  EXPECT_EQ(s["bundle"], dir);
  EXPECT_EQ(s["ociVersion"].get<std::string>().substr(0, 2), "1.");
  // Created, not started: the command has not run.
  usleep(200000);
  EXPECT_NE(access((rootfs + "/ran").c_str(), F_OK), 0);
  // cgroupsPath honoured exactly, with its limits, the init in it.
  std::string mem = "/sys/fs/cgroup/memory/" + tag() + "/life1";
  EXPECT_EQ(readFileOr(mem + "/memory.limit_in_bytes"), std::to_string(64 << 20) + "\n");
  EXPECT_EQ(readFileOr("/sys/fs/cgroup/pids/" + tag() + "/life1/pids.max"), "32\n");
  EXPECT_NE(readFileOr(mem + "/cgroup.procs").find(std::to_string(pid)), std::string::npos);

  auto st = oci({"start", "life1"});
  ASSERT_EQ(st.code, 0) << st.err;
  EXPECT_EQ(reap(pid), 7);
  EXPECT_EQ(readFileOr(rootfs + "/ran"), "ran\n");
  EXPECT_EQ(state("life1")["status"], "stopped");
  EXPECT_EQ(state("life1")["pid"], 0);
  auto again = oci({"start", "life1"});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("stopped"), std::string::npos) << again.err;

  auto d = oci({"delete", "life1"});
  ASSERT_EQ(d.code, 0) << d.err;
  EXPECT_NE(access(mem.c_str(), F_OK), 0) << "cgroup left: " << mem;
  auto gone = oci({"state", "life1"});
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.err.find("does not exist"), std::string::npos) << gone.err;
}

TEST_F(OciLifecycle, ROOT_KillForwardsTheSignalAndDeleteNeedsForceWhileRunning) {
  std::string dir = bundle("kill1", {"/bin/sleep", "600"});
  ASSERT_EQ(oci({"create", "--bundle", dir, "--pid-file", dir + "/pid", "kill1"}).code, 0);
  int pid = std::stoi(readFileOr(dir + "/pid", "0"));
  ASSERT_EQ(oci({"start", "kill1"}).code, 0);
  EXPECT_EQ(state("kill1")["status"], "running");
  auto ps = oci({"ps", "--format", "json", "kill1"});
  ASSERT_EQ(ps.code, 0) << ps.err;
  EXPECT_EQ(json::parse(ps.out).size(), 2u) << ps.out;  // warren-init and sleep
  // exec (not detached): its exit code; it runs in the container's pid
  // namespace (sleep is pid 2 there, after warren-init) and cgroup.
  std::ofstream(dir + "/proc.json") << json{{"args", {"/bin/sh", "-c", "test \"$(cat /proc/2/comm)\" = sleep && exit 9"}},
                                            {"cwd", "/"}, {"env", {"PATH=/bin"}}}.dump();
  auto ex = oci({"exec", "--process", dir + "/proc.json", "kill1"});
  EXPECT_EQ(ex.code, 9) << ex.err;
  auto bad = oci({"exec", "--process", dir + "/proc.json", "--console-socket", "/nonexistent", "kill1"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("process.terminal is false"), std::string::npos) << bad.err;
  // pause/resume through the freezer at cgroupsPath; update the memory limit.
  std::string freezer = "/sys/fs/cgroup/freezer/" + tag() + "/kill1/freezer.state";
  ASSERT_EQ(oci({"pause", "kill1"}).code, 0);
  EXPECT_EQ(state("kill1")["status"], "paused");
  EXPECT_EQ(readFileOr(freezer).substr(0, 6), "FROZEN");
  ASSERT_EQ(oci({"resume", "kill1"}).code, 0);
  EXPECT_EQ(state("kill1")["status"], "running");
  std::ofstream(dir + "/res.json") << R"({"memory": {"limit": 33554432}})";
  auto up = oci({"update", "--resources", dir + "/res.json", "kill1"});
  ASSERT_EQ(up.code, 0) << up.err;
  EXPECT_EQ(readFileOr("/sys/fs/cgroup/memory/" + tag() + "/kill1/memory.limit_in_bytes"), "33554432\n");
  auto d = oci({"delete", "kill1"});
  EXPECT_EQ(d.code, 1);
  EXPECT_NE(d.err.find("--force"), std::string::npos) << d.err;
  ASSERT_EQ(oci({"kill", "kill1", "SIGTERM"}).code, 0);
  EXPECT_EQ(reap(pid), 128 + SIGTERM);
  EXPECT_EQ(state("kill1")["status"], "stopped");
  EXPECT_EQ(oci({"delete", "kill1"}).code, 0);
}

TEST_F(OciLifecycle, ROOT_DeleteForceOfACreatedContainer) {
  std::string dir = bundle("held1", {"/bin/true"});
  ASSERT_EQ(oci({"create", "--bundle", dir, "--pid-file", dir + "/pid", "held1"}).code, 0);
  int pid = std::stoi(readFileOr(dir + "/pid", "0"));
  EXPECT_EQ(state("held1")["status"], "created");
  ASSERT_EQ(oci({"delete", "--force", "held1"}).code, 0);
  EXPECT_EQ(reap(pid), 128 + SIGKILL);
  EXPECT_NE(access(("/sys/fs/cgroup/memory/" + tag() + "/held1").c_str(), F_OK), 0);
}

TEST_F(OciLifecycle, ROOT_UnknownOrUnhonouredFieldsAreRefusedByNameAndNothingIsMade) {
  struct Case {
    std::string field;
    std::function<void(json&)> edit;
  };
  std::vector<Case> cases = {
      {"linux.intelRdt", [](json& c) { c["linux"]["intelRdt"] = {{"closID", "x"}}; }},
      {"hooks", [](json& c) { c["hooks"] = {{"prestart", {{{"path", "/bin/true"}}}}}; }},
      {"process.apparmorProfile", [](json& c) { c["process"]["apparmorProfile"] = "p"; }},
      {"linux.namespaces[5].type", [](json& c) { c["linux"]["namespaces"].push_back({{"type", "user"}}); }},
      {"mounts[6].type", [](json& c) { c["mounts"].push_back({{"destination", "/x"}, {"type", "nfs"}}); }},
      {"linux.cgroupsPath", [](json& c) { c["linux"]["cgroupsPath"] = "system.slice:warren:x"; }},
      {"frobnicate", [](json& c) { c["frobnicate"] = 1; }},
  };
  std::string dir = bundle("bad1", {"/bin/true"});
  json good = config_;
  for (const auto& k : cases) {
    json c = good;
    k.edit(c);
    writeConfig(dir, c);
    auto r = oci({"create", "--bundle", dir, "bad1"});
    EXPECT_EQ(r.code, 1) << k.field;
    EXPECT_NE(r.err.find(k.field), std::string::npos) << k.field << ": " << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_EQ(oci({"state", "bad1"}).code, 1) << k.field;
    EXPECT_NE(access(("/sys/fs/cgroup/memory/" + tag() + "/bad1").c_str(), F_OK), 0) << k.field;
  }
  // The error also reaches the JSON log the shim reads.
  auto log = readFileOr(env_.root + "/oci.log");
  EXPECT_NE(log.find(R"("level":"error")"), std::string::npos) << log;
  EXPECT_NE(log.find("frobnicate"), std::string::npos) << log;
  auto sd = oci({"--systemd-cgroup", "create", "--bundle", dir, "bad1"});
  EXPECT_EQ(sd.code, 1);
  EXPECT_NE(sd.err.find("--systemd-cgroup"), std::string::npos) << sd.err;
}

TEST(OciCli, VersionFeaturesAndUnknownFlags) {
  auto v = runCmd({ociBin(), "--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_NE(v.out.find("spec: 1."), std::string::npos) << v.out;
  auto f = runCmd({ociBin(), "features"});
  ASSERT_EQ(f.exit_code, 0);
  auto j = json::parse(f.out);
  EXPECT_EQ(j["linux"]["cgroup"]["systemd"], false);
  auto u = runCmd({ociBin(), "create", "--frob", "x"});
  EXPECT_EQ(u.exit_code, 1);
  EXPECT_NE(u.err.find("--frob"), std::string::npos) << u.err;
}

}  // namespace
}  // namespace warren::testing::oci
