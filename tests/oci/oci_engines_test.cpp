// warren-oci under the engines that drive runc: containerd (`ctr run
// --runc-binary`, through containerd-shim-runc-v2) and Podman (`--runtime`,
// through conmon). Each test has its own state: a containerd started here
// with its own --root/--state/--address (stopped by pid), a Podman root,
// runroot and containers.conf in the test's temp dir; images come from an
// OCI archive built here from the busybox rootfs (umoci). Skipped, saying
// so, when a tool is not installed (scripts/setup.sh installs them).
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "oci_helpers.hpp"

namespace warren::testing::oci {
namespace {

class OciContainerd : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    for (const char* t : {"containerd", "ctr", "containerd-shim-runc-v2", "umoci"}) {
      if (!have(t)) GTEST_SKIP() << "skipped: " << t << " is not installed (scripts/setup.sh installs it)";
    }
    dir_ = env_.root + "/containerd";
    sock_ = dir_ + "/containerd.sock";
    ASSERT_EQ(runCmd({"mkdir", "-p", dir_ + "/root", dir_ + "/state"}).exit_code, 0);
    std::ofstream(dir_ + "/config.toml") << "version = 2\n"
                                         << "root = \"" << dir_ << "/root\"\n"
                                         << "state = \"" << dir_ << "/state\"\n"
                                         << "disabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n"
                                         << "[grpc]\n  address = \"" << sock_ << "\"\n"
                                         << "[ttrpc]\n  address = \"" << sock_ << ".ttrpc\"\n"
                                         << "[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n";
    pid_ = fork();
    if (pid_ == 0) {
      std::string log = dir_ + "/containerd.log";
      FILE* f = freopen(log.c_str(), "w", stdout);
      (void)f;
      dup2(1, 2);
      execlp("containerd", "containerd", "--config", (dir_ + "/config.toml").c_str(), nullptr);
      _exit(127);
    }
    ASSERT_TRUE(eventually([&] { return ctr({"version"}).exit_code == 0; }, std::chrono::seconds(30)))
        << readFileOr(dir_ + "/containerd.log");
  }
  void TearDown() override {
    if (pid_ <= 0) return;
    ctr({"images", "rm", "--sync", "localhost/warren-busybox:test"});
    auto ns = ctr({"namespaces", "rm", tag()});
    EXPECT_EQ(ns.exit_code, 0) << "containerd namespace left: " << ns.err;
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    // containerd's own mounts under its root (none once its snapshots are gone).
    EXPECT_EQ(runCmd({"sh", "-c", "grep -c ' " + dir_ + "' /proc/self/mountinfo"}).out, "0\n");
    EXPECT_TRUE(removeTagCgroups());
  }
  CmdResult ctr(std::vector<std::string> args, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    std::vector<std::string> argv = {"ctr", "--address", sock_, "--namespace", tag()};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, timeout);
  }

  TestEnv env_;
  std::string dir_, sock_;
  pid_t pid_ = -1;
};

TEST_F(OciContainerd, ROOT_CtrRunWithWarrenOciReturnsTheExitCode) {
  std::string tar = buildArchive(env_);
  ASSERT_FALSE(tar.empty());
  auto imp = ctr({"images", "import", "--base-name", "localhost/warren-busybox", tar});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;
  auto run = ctr({"run", "--rm", "--runc-binary", ociBin(), "--runc-root", dir_ + "/warren-oci", "--cgroup",
                  "/" + tag() + "/c1", "localhost/warren-busybox:test", "c1", "/bin/sh", "-c",
                  "echo hello from ctr; test -d /proc/self; exit 3"});
  EXPECT_EQ(run.exit_code, 3) << run.err << readFileOr(dir_ + "/containerd.log");
  EXPECT_EQ(run.out, "hello from ctr\n");
  EXPECT_EQ(ctr({"containers", "ls", "-q"}).out, "");
  EXPECT_NE(access(("/sys/fs/cgroup/memory/" + tag() + "/c1").c_str(), F_OK), 0) << "container cgroup left";
}

TEST_F(OciContainerd, ROOT_CtrRunDetachedExecKillDelete) {
  std::string tar = buildArchive(env_);
  ASSERT_FALSE(tar.empty());
  ASSERT_EQ(ctr({"images", "import", "--base-name", "localhost/warren-busybox", tar}).exit_code, 0);
  auto run = ctr({"run", "-d", "--runc-binary", ociBin(), "--runc-root", dir_ + "/warren-oci", "--cgroup",
                  "/" + tag() + "/c2", "localhost/warren-busybox:test", "c2", "/bin/sleep", "600"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto ex = ctr({"tasks", "exec", "--exec-id", "e1", "c2", "/bin/sh", "-c", "echo from-exec; exit 6"});
  EXPECT_EQ(ex.exit_code, 6) << ex.err;
  EXPECT_EQ(ex.out, "from-exec\n");
  EXPECT_EQ(ctr({"tasks", "kill", "--signal", "SIGKILL", "c2"}).exit_code, 0);
  EXPECT_TRUE(eventually([&] { return ctr({"tasks", "ls"}).out.find("STOPPED") != std::string::npos; }));
  EXPECT_EQ(ctr({"tasks", "delete", "c2"}).exit_code, 0);
  EXPECT_EQ(ctr({"containers", "delete", "c2"}).exit_code, 0);
  EXPECT_NE(access(("/sys/fs/cgroup/memory/" + tag() + "/c2").c_str(), F_OK), 0) << "container cgroup left";
}

class OciPodman : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    for (const char* t : {"podman", "conmon", "umoci"}) {
      if (!have(t)) GTEST_SKIP() << "skipped: " << t << " is not installed (scripts/setup.sh installs it)";
    }
    dir_ = env_.root + "/podman";
    ASSERT_EQ(runCmd({"mkdir", "-p", dir_ + "/tmp"}).exit_code, 0);
    // Podman 4.3 passes the host's ulimits (raising them needs
    // CAP_SYS_RESOURCE) unless default_ulimits is empty; no network
    // backend is needed with netns none.
    std::ofstream(dir_ + "/containers.conf") << "[containers]\ndefault_ulimits = []\ndefault_sysctls = []\n"
                                             << "netns = \"none\"\nlog_driver = \"k8s-file\"\n"
                                             << "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n"
                                             << "events_logfile_path = \"" << dir_ << "/events.log\"\n";
    std::ofstream(dir_ + "/storage.conf") << "[storage]\ndriver = \"vfs\"\nrunroot = \"" << dir_
                                          << "/runroot\"\ngraphroot = \"" << dir_ << "/root\"\n";
  }
  void TearDown() override {
    if (dir_.empty()) return;
    podman({"rm", "--all", "--force", "--time", "0"});
    auto reset = podman({"system", "reset", "--force"});
    EXPECT_EQ(reset.exit_code, 0) << reset.err;
    EXPECT_EQ(runCmd({"sh", "-c", "grep -c ' " + dir_ + "' /proc/self/mountinfo"}).out, "0\n");
    EXPECT_TRUE(removeTagCgroups());
  }
  CmdResult podman(std::vector<std::string> args, std::chrono::seconds timeout = std::chrono::seconds(120)) {
    std::vector<std::string> argv = {"podman", "--root", dir_ + "/root", "--runroot", dir_ + "/runroot",
                                     "--tmpdir", dir_ + "/tmp", "--runtime", ociBin(), "--cgroup-manager",
                                     "cgroupfs"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, timeout,
                  {"CONTAINERS_CONF=" + dir_ + "/containers.conf",
                   "CONTAINERS_STORAGE_CONF=" + dir_ + "/storage.conf"});
  }
  void loadImage() {
    std::string tar = buildArchive(env_);
    ASSERT_FALSE(tar.empty());
    auto pull = podman({"pull", "-q", "oci-archive:" + tar});
    ASSERT_EQ(pull.exit_code, 0) << pull.err;
    std::string id = pull.out.substr(0, pull.out.find('\n'));
    ASSERT_EQ(podman({"tag", id, "localhost/warren-busybox:test"}).exit_code, 0);
  }

  TestEnv env_;
  std::string dir_;
};

TEST_F(OciPodman, ROOT_PodmanRunRmReturnsTheExitCode) {
  loadImage();
  auto run = podman({"run", "--pull", "never", "--rm", "--cgroup-parent", "/" + tag(),
                     "localhost/warren-busybox:test", "sh", "-c", "echo hello from podman; exit 4"});
  EXPECT_EQ(run.exit_code, 4) << run.err;
  EXPECT_EQ(run.out, "hello from podman\n");
  EXPECT_EQ(podman({"ps", "-aq"}).out, "");
}

TEST_F(OciPodman, ROOT_PodmanRunDetachedThenStopAndRm) {
  loadImage();
  auto run = podman({"run", "--pull", "never", "-d", "--name", "w1", "--cgroup-parent", "/" + tag(),
                     "localhost/warren-busybox:test", "sleep", "600"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  auto ps = podman({"ps", "--format", "{{.Names}} {{.Status}}"});
  EXPECT_EQ(ps.out.substr(0, 6), "w1 Up ") << ps.out;
  // exec: a second process in the same namespaces, reaped by conmon.
  auto ex = podman({"exec", "w1", "sh", "-c", "echo exec-in-$(hostname); ps -o comm | grep -c sleep; exit 6"});
  EXPECT_EQ(ex.exit_code, 6) << ex.err;
  EXPECT_EQ(ex.out, "exec-in-" + podman({"inspect", "--format", "{{.Id}}", "w1"}).out.substr(0, 12) + "\n1\n") << ex.err;
  auto stop = podman({"stop", "--time", "2", "w1"});
  EXPECT_EQ(stop.exit_code, 0) << stop.err;
  auto inspect = podman({"inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "w1"});
  EXPECT_EQ(inspect.out, "exited 143\n") << inspect.err;
  EXPECT_EQ(podman({"rm", "w1"}).exit_code, 0);
  EXPECT_EQ(podman({"ps", "-aq"}).out, "");
}

}  // namespace
}  // namespace warren::testing::oci

namespace warren::testing::oci {
namespace {

TEST_F(OciPodman, ROOT_PodmanRunItGivesATerminalFromTheContainersDevpts) {
  if (!have("script")) GTEST_SKIP() << "skipped: script (util-linux) is not installed";
  loadImage();
  // `script` gives podman a terminal, as a user's shell would. The command
  // sleeps before it exits: podman's attach may stop reading as soon as the
  // container's exit is known, before the last pty output has crossed
  // conmon (a known engine race, podman#9859; our CI hit it once: exit code
  // 5 arrived, the output did not). The output is still warren's to deliver:
  // the test fails if the pty is not the container's own or output is lost.
  std::string podman_line = "podman --root " + dir_ + "/root --runroot " + dir_ + "/runroot --tmpdir " + dir_ +
                            "/tmp --runtime " + ociBin() + " --cgroup-manager cgroupfs run --pull never --rm -it" +
                            " --cgroup-parent /" + tag() +
                            " localhost/warren-busybox:test sh -c 'tty; test -t 0 && echo stdin-is-a-tty; sleep 1; exit 5'";
  auto r = runCmd({"script", "-qec", podman_line, "/dev/null"}, std::chrono::seconds(120),
                  {"CONTAINERS_CONF=" + dir_ + "/containers.conf", "CONTAINERS_STORAGE_CONF=" + dir_ + "/storage.conf"});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stdin-is-a-tty"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace warren::testing::oci

namespace warren::testing::oci {
namespace {

// A pod: Podman's infra container (catatonit, from the podman-pause image
// Podman builds) holds the pod's network, IPC and UTS namespaces; both
// members join them by path (linux.namespaces[].path = /proc/<infra>/ns/*).
// One listens on loopback, the other connects through 127.0.0.1 and gets
// the data: only one network namespace can make that work.
TEST_F(OciPodman, ROOT_PodWithTwoContainersSharingItsNetwork) {
  if (!have("catatonit")) GTEST_SKIP() << "skipped: catatonit (the pod's infra process) is not installed";
  loadImage();
  auto pod = podman({"pod", "create", "--name", "wpod", "--cgroup-parent", "/" + tag()});
  ASSERT_EQ(pod.exit_code, 0) << pod.err;
  auto srv = podman({"run", "--pull", "never", "-d", "--pod", "wpod", "--name", "srv", "localhost/warren-busybox:test",
                     "sh", "-c", "echo pod-data-$(hostname) | nc -l -p 7070 127.0.0.1"});
  ASSERT_EQ(srv.exit_code, 0) << srv.err;
  // The client retries until the server listens (its start is asynchronous).
  auto cli = podman({"run", "--pull", "never", "--rm", "--pod", "wpod", "localhost/warren-busybox:test", "sh", "-c",
                     "for i in $(seq 50); do nc 127.0.0.1 7070 </dev/null && break; sleep 0.2; done; "
                     "readlink /proc/self/ns/net"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  // The pod's UTS namespace too (the hostname is the pod's name), and the
  // infra container's network namespace.
  auto infra = podman({"pod", "inspect", "--format", "{{.InfraContainerID}}", "wpod"});
  ASSERT_EQ(infra.exit_code, 0) << infra.err;
  auto infra_pid = podman({"inspect", "--format", "{{.State.Pid}}", infra.out.substr(0, infra.out.find('\n'))});
  char netns[64] = {};
  std::string link = "/proc/" + infra_pid.out.substr(0, infra_pid.out.find('\n')) + "/ns/net";
  ASSERT_GT(readlink(link.c_str(), netns, sizeof netns - 1), 0) << link;
  EXPECT_EQ(cli.out, "pod-data-wpod\n" + std::string(netns) + "\n");
  EXPECT_TRUE(eventually([&] {
    return podman({"inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", "srv"}).out == "exited 0\n";
  }));
  auto rm = podman({"pod", "rm", "--force", "--time", "0", "wpod"});
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_EQ(podman({"ps", "-aq"}).out, "");
  EXPECT_EQ(podman({"pod", "ps", "-q"}).out, "");
}

}  // namespace
}  // namespace warren::testing::oci
