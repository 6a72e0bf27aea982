#include "test_env.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "warren/sdk/fs.hpp"

namespace warren::testing {

std::string tag() { return "warren-test-" + std::to_string(getpid()); }

bool isRoot() { return geteuid() == 0; }

TestEnv::TestEnv() {
  static std::atomic<int> counter{0};
  root = "/tmp/" + tag() + "/" + std::to_string(counter++);
  (void)fs::removeTree(root);
  work_dir = root + "/work";
  runtime_dir = root + "/run";
  (void)fs::mkdirs(work_dir);
  (void)fs::mkdirs(runtime_dir);
  cgroups_root = "/" + tag();
  plugin_dir = WARREN_TEST_PLUGIN_DIR;
  init_path = std::string(WARREN_TEST_BIN_DIR) + "/warren-init";
  warren_bin = std::string(WARREN_TEST_BIN_DIR) + "/warren";
}

TestEnv::~TestEnv() {
  // A warren run over this env claimed its cgroups root in the default
  // claims dir; the claim names our runtime dir: drop it with the env.
  std::string claim = "/run/warren-claims/%2F" + cgroups_root.substr(1);
  auto owner = fs::readFile(claim);
  if (owner && owner->size() > runtime_dir.size() &&
      owner->compare(owner->size() - runtime_dir.size(), runtime_dir.size(), runtime_dir) == 0) {
    (void)::unlink(claim.c_str());
    (void)::unlink((claim + ".lock").c_str());
  }
  // removeTree refuses to cross mount points, so a leaked mount stays
  // visible to the residue check instead of being silently deleted under.
  (void)fs::removeTree(root);
}

const std::string& TestEnv::busyboxRootfs() {
  static std::once_flag once;
  static std::string dir;
  std::call_once(once, [] {
    dir = "/tmp/" + tag() + "/busybox";
    (void)fs::mkdirs(dir + "/bin");
    for (const char* d : {"proc", "sys", "dev", "tmp", "etc", "root", "mnt", "var", "run"}) {
      (void)fs::mkdirs(dir + "/" + d);
    }
    std::filesystem::copy_file("/bin/busybox", dir + "/bin/busybox",
                               std::filesystem::copy_options::overwrite_existing);
    chmod((dir + "/bin/busybox").c_str(), 0755);
    auto r = runCmd({"/bin/busybox", "--list"});
    size_t pos = 0;
    while (pos < r.out.size()) {
      size_t nl = r.out.find('\n', pos);
      if (nl == std::string::npos) nl = r.out.size();
      std::string app = r.out.substr(pos, nl - pos);
      pos = nl + 1;
      if (app.empty() || app == "busybox") continue;
      std::string link = dir + "/bin/" + app;
      (void)symlink("busybox", link.c_str());
    }
    (void)fs::writeFile(dir + "/etc/passwd",
                        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
    (void)fs::writeFile(dir + "/etc/group", "root:x:0:\nnogroup:x:65534:\n");
  });
  return dir;
}

std::string TestEnv::makeRootfs(const std::string& name) {
  std::string dst = root + "/" + name;
  std::filesystem::copy(busyboxRootfs(), dst,
                        std::filesystem::copy_options::recursive |
                            std::filesystem::copy_options::copy_symlinks);
  return dst;
}

CmdResult runCmd(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                 const std::vector<std::string>& extra_env) {
  CmdResult res;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return res;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  for (const auto& e : extra_env) envs.push_back(e);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  char buf[4096];
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    if (!out_open) fds[0].fd = -1;
    if (!err_open) fds[1].fd = -1;
    int n = poll(fds, 2, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && fds[i].revents) {
        ssize_t r = read(fds[i].fd, buf, sizeof buf);
        if (r <= 0) {
          (i == 0 ? out_open : err_open) = false;
        } else {
          (i == 0 ? res.out : res.err).append(buf, r);
        }
      }
    }
  }
  close(out[0]);
  close(err[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  res.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return res;
}

std::string initRuntimeDir(const std::string& pid) {
  // fs::readFile, not an ifstream: a process that exits meanwhile must read
  // as "not ours", not throw ESRCH out of the stream's underflow.
  std::string cmd = fs::readFile("/proc/" + pid + "/cmdline").value_or("");
  if (cmd != std::string("warren-init") + '\0') return "";
  char buf[4096];
  ssize_t n = ::readlink(("/proc/" + pid + "/fd/4").c_str(), buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string dir(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (dir.size() > deleted.size() && dir.compare(dir.size() - deleted.size(), deleted.size(), deleted) == 0) {
    dir.resize(dir.size() - deleted.size());
  }
  return dir;
}

}  // namespace warren::testing
