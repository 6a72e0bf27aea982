// linux.namespaces[].path: a bundle joins existing namespaces, as a Podman pod
// member joins its infra container's and a CRI container its sandbox's.
// The test acts as the shim (a subreaper): warren-init must be reparented to
// it even when it joined another pid namespace, or the exit code is lost.
#include <sched.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "oci_helpers.hpp"

namespace warren::testing::oci {
namespace {

using nlohmann::json;

class OciJoin : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    state_root_ = env_.root + "/oci-state";
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
  }
  void TearDown() override {
    if (!isRoot()) return;
    for (const auto& id : ids_) runOci(env_.root, {ociBin(), "--root", state_root_, "delete", "--force", id});
    if (pod_ > 0) {
      kill(pod_, SIGKILL);
      waitpid(pod_, nullptr, 0);
    }
    if (!netns_.empty()) EXPECT_EQ(runCmd({"ip", "netns", "del", netns_}).exit_code, 0);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {}
    EXPECT_TRUE(removeTagCgroups());
  }

  OciRun oci(std::vector<std::string> args) {
    std::vector<std::string> argv = {ociBin(), "--root", state_root_};
    argv.insert(argv.end(), args.begin(), args.end());
    return runOci(env_.root, argv);
  }
  std::string bundle(const std::string& id, const std::string& script) {
    std::string dir = env_.root + "/bundle-" + id;
    config_ = makeBundle(env_, dir, id, {"/bin/sh", "-c", script});
    ids_.push_back(id);
    return dir;
  }
  void setPath(const std::string& type, const std::string& path) {
    for (auto& n : config_["linux"]["namespaces"]) {
      if (n["type"] == type) n["path"] = path;
    }
  }
  // create + start + the exit code, reaped by us (the shim's subreaper).
  int run(const std::string& dir, const std::string& id) {
    writeConfig(dir, config_);
    auto c = oci({"create", "--bundle", dir, "--pid-file", dir + "/pid", id});
    EXPECT_EQ(c.code, 0) << c.err;
    if (c.code != 0) return -1;
    int pid = std::stoi(readFileOr(dir + "/pid", "0"));
    auto s = oci({"start", id});
    EXPECT_EQ(s.code, 0) << s.err;
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) {
      ADD_FAILURE() << "warren-init " << pid << " is not ours to reap: " << strerror(errno);
      return -1;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }

  TestEnv env_;
  std::string state_root_, netns_;
  std::vector<std::string> ids_;
  json config_;
  pid_t pod_ = -1;
};

// A named network namespace (`ip netns add`, as CNI makes for a pod): the
// container sees its interfaces and its loopback as they are there, and
// leaves it as it was.
TEST_F(OciJoin, ROOT_JoinsANetworkNamespaceByPath) {
  netns_ = tag() + "-join";
  ASSERT_EQ(runCmd({"ip", "netns", "add", netns_}).exit_code, 0);
  // (no dummy module here: a veth pair inside the namespace)
  ASSERT_EQ(runCmd({"ip", "-n", netns_, "link", "add", "wtjoin0", "type", "veth", "peer", "name", "wtjoin1"}).exit_code, 0);
  ASSERT_EQ(runCmd({"ip", "-n", netns_, "link", "set", "lo", "up"}).exit_code, 0);
  std::string dir = bundle("net1", "cut -d: -f1 /proc/net/dev | tr -d ' ' > /out; cat /sys/class/net/lo/flags >> /out");
  setPath("network", "/run/netns/" + netns_);
  ASSERT_EQ(run(dir, "net1"), 0);
  std::string out = readFileOr(config_["root"]["path"].get<std::string>() + "/out");
  EXPECT_NE(out.find("\nwtjoin0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlo\n"), std::string::npos) << out;
  EXPECT_NE(out.find("0x9\n"), std::string::npos) << "lo up, as in the joined namespace: " << out;
  // Only that namespace's interfaces: none of the host's others.
  std::string host = readFileOr("/proc/net/dev");
  for (const char* name : {"eth0", "ens3", "ens4", "enp0s3"}) {
    if (host.find(std::string(name) + ":") != std::string::npos) EXPECT_EQ(out.find(name), std::string::npos) << out;
  }
  ASSERT_EQ(oci({"delete", "net1"}).code, 0);
  auto links = runCmd({"ip", "-n", netns_, "-o", "link", "show", "wtjoin0"});
  EXPECT_EQ(links.exit_code, 0) << "the joined namespace is not the container's to remove";
}

// A pod's pid, IPC and UTS namespaces (held by a "pause" process, pid 1
// there): the container sees the pod's hostname, its SysV queue and its
// pid 1, and still exits to us.
TEST_F(OciJoin, ROOT_JoinsAPodsPidIpcAndUtsNamespaces) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  pod_ = fork();
  ASSERT_GE(pod_, 0);
  if (pod_ == 0) {
    close(p[0]);
    if (unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWPID) != 0) _exit(1);
    if (sethostname("warrenpod", 9) != 0) _exit(1);
    if (msgget(0x7761726e, IPC_CREAT | 0600) < 0) _exit(1);
    pid_t infra = fork();  // pid 1 of the pod's pid namespace
    if (infra == 0) {
      prctl(PR_SET_NAME, "podinfra", 0, 0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
      (void)!write(p[1], "r", 1);
      for (;;) pause();
    }
    close(p[1]);
    int st;
    waitpid(infra, &st, 0);
    _exit(0);
  }
  close(p[1]);
  char c = 0;
  ASSERT_EQ(read(p[0], &c, 1), 1);
  close(p[0]);
  std::string kids = readFileOr("/proc/" + std::to_string(pod_) + "/task/" + std::to_string(pod_) + "/children");
  int infra = std::atoi(kids.c_str());
  ASSERT_GT(infra, 0) << kids;
  std::string ns = "/proc/" + std::to_string(infra) + "/ns/";
  std::string dir = bundle("pod1", "hostname > /out; cat /proc/sysvipc/msg >> /out; cat /proc/1/comm >> /out; exit 5");
  config_.erase("hostname");
  setPath("pid", ns + "pid");
  setPath("ipc", ns + "ipc");
  setPath("uts", ns + "uts");
  ASSERT_EQ(run(dir, "pod1"), 5);
  std::string out = readFileOr(config_["root"]["path"].get<std::string>() + "/out");
  EXPECT_EQ(out.rfind("warrenpod\n", 0), 0u) << out;
  EXPECT_NE(out.find(std::to_string(0x7761726e)), std::string::npos) << "the pod's queue: " << out;
  EXPECT_NE(out.find("podinfra\n"), std::string::npos) << "the pod's pid 1: " << out;
  ASSERT_EQ(oci({"delete", "pod1"}).code, 0);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  EXPECT_NE(std::string(host), "warrenpod");
}

// A path that is not a namespace of the listed type is refused before
// anything is made, naming the field.
TEST_F(OciJoin, ROOT_WrongTypeOrMissingPathIsRefusedByNameAndNothingIsMade) {
  std::string dir = bundle("badns", "true");
  json good = config_;
  struct Case {
    std::string type, path, expect;
  };
  const Case cases[] = {
      {"network", "/proc/self/ns/pid", "is not a network namespace"},
      {"pid", "/proc/self/ns/net", "is not a pid namespace"},
      {"network", "/etc/hostname", "is not a namespace"},
      {"uts", "/run/netns/" + tag() + "-nonexistent", "No such file or directory"},
  };
  for (const auto& k : cases) {
    config_ = good;
    setPath(k.type, k.path);
    writeConfig(dir, config_);
    auto r = oci({"create", "--bundle", dir, "badns"});
    EXPECT_EQ(r.code, 1) << k.path;
    EXPECT_NE(r.err.find("linux.namespaces["), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("].path: "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(k.expect), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\n'), r.err.size() - 1) << "one line: " << r.err;
    EXPECT_EQ(oci({"state", "badns"}).code, 1);
    EXPECT_NE(access(("/sys/fs/cgroup/memory/" + tag() + "/badns").c_str(), F_OK), 0);
  }
}

}  // namespace
}  // namespace warren::testing::oci

namespace warren::testing::oci {
namespace {

// process.capabilities.inheritable / .ambient are honoured (runtime-tools'
// default config lists all five sets), within the bounding set.
TEST_F(OciJoin, ROOT_InheritableAndAmbientCapabilitiesAreSet) {
  std::string dir = bundle("caps1", "grep -E '^Cap(Inh|Amb)' /proc/self/status > /out");
  config_["process"]["capabilities"]["inheritable"] = {"CAP_KILL"};
  config_["process"]["capabilities"]["ambient"] = {"CAP_KILL"};
  ASSERT_EQ(run(dir, "caps1"), 0);
  std::string out = readFileOr(config_["root"]["path"].get<std::string>() + "/out");
  EXPECT_EQ(out, "CapInh:\t0000000000000020\nCapAmb:\t0000000000000020\n");  // CAP_KILL = 5
}

}  // namespace
}  // namespace warren::testing::oci
