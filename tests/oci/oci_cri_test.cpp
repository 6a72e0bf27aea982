// containerd's CRI plugin (what a kubelet talks to) with warren-oci as its
// runtime (`BinaryName`): a pod sandbox and a container in it, driven by our
// small CRI client (tests/oci/cri/cri_client.py: python3-grpcio, messages
// from our runtime.v1 subset compiled with protoc). containerd runs here with
// its own root, state, socket and config; the sandbox image is the busybox
// test image whose default command sleeps (a pause). Pod network: CNI's
// host-device plugin moves a veth made by the test into the pod's network
// namespace as eth0 (static address) and back at teardown - a real pod
// network namespace without touching any host sysctl (ptp and bridge turn
// on ip_forward). Skipped, saying so, when a tool is missing.
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "oci_helpers.hpp"

namespace warren::testing::oci {
namespace {

using nlohmann::json;

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, where python3-grpcio is
constexpr const char* kCniDir = "/usr/lib/cni";

class OciCri : public ::testing::Test {
 protected:
  void SetUp() override {
    WARREN_REQUIRE_ROOT();
    for (const char* t : {"containerd", "ctr", "containerd-shim-runc-v2", "umoci", "protoc"}) {
      if (!have(t)) GTEST_SKIP() << "skipped: " << t << " is not installed (scripts/setup.sh installs it)";
    }
    if (runCmd({kPython, "-c", "import grpc"}).exit_code != 0) {
      GTEST_SKIP() << "skipped: python3-grpcio is not installed (scripts/setup.sh installs it)";
    }
    for (const char* p : {"host-device", "static"}) {
      if (access((std::string(kCniDir) + "/" + p).c_str(), X_OK) != 0) {
        GTEST_SKIP() << "skipped: CNI plugin " << p << " is not installed (containernetworking-plugins)";
      }
    }
    dir_ = env_.root + "/cri";
    sock_ = dir_ + "/containerd.sock";
    veth_ = "wtc" + std::to_string(getpid()) + "a";
    ASSERT_EQ(runCmd({"mkdir", "-p", dir_ + "/cni", dir_ + "/logs"}).exit_code, 0);
    auto v = runCmd({"ip", "link", "add", veth_, "type", "veth", "peer", "name", veth_.substr(0, veth_.size() - 1) + "b"});
    ASSERT_EQ(v.exit_code, 0) << v.err;
    made_veth_ = true;
    std::ofstream(dir_ + "/cni/10-warren.conflist")
        << json{{"cniVersion", "0.4.0"},
                {"name", tag()},
                {"plugins", {{{"type", "host-device"},
                              {"device", veth_},
                              {"ipam", {{"type", "static"}, {"addresses", {{{"address", "10.213.77.2/24"}}}}}}}}}}
               .dump();
    std::string cri = "[plugins.\"io.containerd.grpc.v1.cri\"";
    std::ofstream(dir_ + "/config.toml")
        << "version = 2\nroot = \"" << dir_ << "/root\"\nstate = \"" << dir_ << "/state\"\n"
        << "[grpc]\n  address = \"" << sock_ << "\"\n[ttrpc]\n  address = \"" << sock_ << ".ttrpc\"\n"
        << "[debug]\n  address = \"\"\n[metrics]\n  address = \"\"\n"
        << cri << "]\n  sandbox_image = \"localhost/warren-busybox:pause\"\n"
        << "  netns_mounts_under_state_dir = true\n  disable_tcp_service = true\n"
        << "  stream_server_address = \"127.0.0.1\"\n  stream_server_port = \"0\"\n"
        // The sandbox asks for oom_score_adj -998; lowering it needs
        // CAP_SYS_RESOURCE, which this machine lacks: containerd then asks
        // for no less than its own.
        << "  restrict_oom_score_adj = true\n"
        << cri << ".containerd]\n  default_runtime_name = \"warren\"\n"
        << cri << ".containerd.runtimes.warren]\n  runtime_type = \"io.containerd.runc.v2\"\n"
        << cri << ".containerd.runtimes.warren.options]\n  BinaryName = \"" << ociBin() << "\"\n"
        << "  Root = \"" << dir_ << "/warren-oci\"\n  SystemdCgroup = false\n"
        << cri << ".cni]\n  bin_dir = \"" << kCniDir << "\"\n  conf_dir = \"" << dir_ << "/cni\"\n";
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
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      killShims();
      // containerd's mounts (snapshots, the pod's netns and shm) are gone.
      EXPECT_EQ(runCmd({"sh", "-c", "grep -c ' " + dir_ + "' /proc/self/mountinfo"}).out, "0\n");
    }
    if (made_veth_) {
      // host-device gave the veth back at StopPodSandbox: deleting it here
      // proves it (a veth left in a dead namespace would be gone).
      EXPECT_EQ(runCmd({"ip", "link", "del", veth_}).exit_code, 0) << "the pod's eth0 did not come back";
    }
    if (isRoot()) EXPECT_TRUE(removeTagCgroups());
  }
  CmdResult ctr(std::vector<std::string> args) {
    std::vector<std::string> argv = {"ctr", "--address", sock_, "--namespace", "k8s.io"};
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(60));
  }
  // Shims of this containerd left by a failed teardown (normally none).
  void killShims() {
    DIR* d = opendir("/proc");
    if (d == nullptr) return;
    while (dirent* e = readdir(d)) {
      int pid = std::atoi(e->d_name);
      if (pid <= 0) continue;
      std::string cmd = readFileOr("/proc/" + std::string(e->d_name) + "/cmdline");
      if (cmd.find("containerd-shim") != std::string::npos && cmd.find(sock_) != std::string::npos) {
        ADD_FAILURE() << "shim " << pid << " left";
        kill(pid, SIGKILL);
      }
    }
    closedir(d);
  }

  TestEnv env_;
  std::string dir_, sock_, veth_;
  pid_t pid_ = -1;
  bool made_veth_ = false;
};

TEST_F(OciCri, ROOT_CriRunsAPodSandboxAndAContainerInIt) {
  std::string tar = buildArchive(env_, "pause", {"sleep", "2147483647"});
  ASSERT_FALSE(tar.empty());
  auto imp = ctr({"images", "import", "--base-name", "localhost/warren-busybox", tar});
  ASSERT_EQ(imp.exit_code, 0) << imp.err;

  // The container joins the sandbox's network, IPC, UTS and (NamespaceMode
  // POD) pid namespaces by path and says which ones it is in.
  auto r = runCmd({kPython, std::string(WARREN_TEST_SOURCE_DIR) + "/tests/oci/cri/cri_client.py", "--socket", sock_,
                   "--image", "localhost/warren-busybox:pause", "--cgroup-parent", "/" + tag() + "/wpod", "--log-dir",
                   dir_ + "/logs", "--script",
                   "hostname; for t in net ipc uts pid; do readlink /proc/self/ns/$t; done; "
                   "ip -4 -o addr show dev eth0 | grep -o 'inet [0-9./]*'; exit 3"},
                  std::chrono::seconds(240));
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  json seen = json::parse(r.out, nullptr, false);
  ASSERT_TRUE(seen.is_object()) << r.out;
  EXPECT_FALSE(seen.contains("error")) << seen.dump() << readFileOr(dir_ + "/containerd.log");
  EXPECT_EQ(seen["runtime_api_version"], "v1");
  EXPECT_EQ(seen["sandbox_state"], "SANDBOX_READY");
  EXPECT_EQ(seen["sandbox_ip"], "10.213.77.2");
  EXPECT_EQ(seen["container_state"], "CONTAINER_EXITED");
  EXPECT_EQ(seen["exit_code"], 3);
  ASSERT_TRUE(seen.contains("sandbox_ns")) << seen.dump();
  const auto& ns = seen["sandbox_ns"];
  json expect = json::array({"wpod", ns["net"], ns["ipc"], ns["uts"], ns["pid"], "inet 10.213.77.2/24"});
  EXPECT_EQ(seen["log"], expect) << seen.dump();
  EXPECT_EQ(seen["teardown"], json::array({"RemoveContainer ok", "StopPodSandbox ok", "RemovePodSandbox ok"}));
  // warren-oci kept nothing of either container.
  std::string left = runCmd({"sh", "-c", "ls " + dir_ + "/warren-oci/k8s.io/run/containers 2>/dev/null"}).out;
  EXPECT_EQ(left, "") << "warren-oci state left";
}

}  // namespace
}  // namespace warren::testing::oci
