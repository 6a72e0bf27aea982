#include "oci_helpers.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace warren::testing::oci {

std::string readFileOr(const std::string& path, const std::string& def) {
  std::ifstream f(path);
  if (!f) return def;
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string ociBin() { return std::string(WARREN_TEST_BIN_DIR) + "/warren-oci"; }

OciRun runOci(const std::string& dir, const std::vector<std::string>& argv, int timeout_s) {
  static int n = 0;
  std::string out = dir + "/run" + std::to_string(++n) + ".out", err = dir + "/run" + std::to_string(n) + ".err";
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int i = open("/dev/null", O_RDONLY);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(i, 0);
    dup2(o, 1);
    dup2(e, 2);
    execvp(args[0], args.data());
    _exit(127);
  }
  OciRun r;
  int st = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = readFileOr(out);
  r.err = readFileOr(err);
  return r;
}

nlohmann::json makeBundle(TestEnv& env, const std::string& dir, const std::string& id,
                          const std::vector<std::string>& args) {
  mkdir(dir.c_str(), 0755);
  std::string rootfs = env.makeRootfs("rootfs-" + id);
  auto r = runCmd({ociBin(), "spec", "--bundle", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  auto config = nlohmann::json::parse(readFileOr(dir + "/config.json", "{}"));
  config["root"] = {{"path", rootfs}, {"readonly", false}};
  config["process"]["args"] = args;
  config["linux"]["cgroupsPath"] = "/" + tag() + "/" + id;
  writeConfig(dir, config);
  return config;
}

bool have(const std::string& tool) {
  return runCmd({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

std::string buildArchive(TestEnv& env, const std::string& tag_name, const std::vector<std::string>& cmd) {
  std::string layout = env.root + "/layout", tar = env.root + "/busybox-oci-" + tag_name + ".tar";
  std::vector<std::vector<std::string>> steps;
  if (access(layout.c_str(), F_OK) != 0) steps.push_back({"umoci", "init", "--layout", layout});
  steps.push_back({"umoci", "new", "--image", layout + ":" + tag_name});
  steps.push_back({"umoci", "insert", "--image", layout + ":" + tag_name, TestEnv::busyboxRootfs(), "/"});
  std::vector<std::string> config = {"umoci", "config", "--image", layout + ":" + tag_name};
  for (const auto& c : cmd) {
    config.push_back("--config.cmd");
    config.push_back(c);
  }
  steps.push_back(config);
  steps.push_back({"tar", "-C", layout, "-cf", tar, "."});
  for (const auto& argv : steps) {
    auto r = runCmd(argv);
    EXPECT_EQ(r.exit_code, 0) << argv[0] << " " << argv[1] << ": " << r.err;
    if (r.exit_code != 0) return "";
  }
  return tar;
}

void writeConfig(const std::string& dir, const nlohmann::json& config) {
  std::ofstream(dir + "/config.json") << config.dump(2);
}

namespace {
// Depth first: cgroup directories hold only control files (not removable,
// not in the way of rmdir) and child cgroups.
bool removeCgroupTree(const std::string& dir) {
  bool ok = true;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (e->d_type == DT_DIR && n != "." && n != "..") ok = removeCgroupTree(dir + "/" + n) && ok;
    }
    closedir(d);
  }
  return rmdir(dir.c_str()) == 0 && ok;
}
}  // namespace

bool removeTagCgroups() {
  bool clean = true;
  for (const char* c : {"memory", "cpu", "cpuacct", "pids", "freezer", "devices", "blkio", "cpuset", "net_cls",
                        "perf_event", "hugetlb", "systemd"}) {
    std::string d = std::string("/sys/fs/cgroup/") + c + "/" + tag();
    if (access(d.c_str(), F_OK) != 0) continue;
    if (!removeCgroupTree(d)) clean = false;
  }
  return clean;
}

}  // namespace warren::testing::oci
