// The CLI's container I/O (issue #15): `run` forwards signals and exits with
// the container's code, `run -it` over a pty, `exec`, `logs`, `attach`.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "cli_helpers.hpp"
#include "fixture.hpp"

namespace warren::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ROOT_CliIo : public ContainerizerTest {
 protected:
  std::vector<std::string> base() {
    return {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
            "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir, "--isolation",
            "filesystem/linux,pid"};
  }
  CmdResult warren(std::vector<std::string> args) {
    auto argv = base();
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv);
  }
  // Starts warren with its stdout on a pipe (or its stdio on a new pty when
  // `pty_master` is given: its own session, the pty its controlling terminal).
  pid_t spawn(std::vector<std::string> args, int* out_fd, int* pty_master = nullptr, winsize* ws = nullptr) {
    auto argv = base();
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    if (pty_master != nullptr) {
      pid_t pid = forkpty(pty_master, nullptr, nullptr, ws);
      if (pid == 0) {
        execv(cargv[0], cargv.data());
        _exit(127);
      }
      *out_fd = *pty_master;
      return pid;
    }
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
      dup2(p[1], 1);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(p[1]);
    *out_fd = p[0];
    return pid;
  }
  // Reads from fd until `until` is in *acc or the timeout passes.
  static bool readUntil(int fd, std::string* acc, const std::string& until, std::chrono::seconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (acc->find(until) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return acc->find(until) != std::string::npos;
      acc->append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  static int waitExit(pid_t pid) {
    int st = 0;
    for (int i = 0; i < 300; ++i) {
      if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
  }
  bool noContainers() {
    auto r = warren({"--json", "ps"});
    return r.exit_code == 0 && r.out.find("\"id\"") == std::string::npos;
  }
};

TEST_F(ROOT_CliIo, RunForwardsTermAndIntToTheContainersTrapAndExitsWithItsCode) {
  for (auto [sig, code] : {std::pair{SIGTERM, 42}, std::pair{SIGINT, 43}, std::pair{SIGHUP, 44}}) {
    int out = -1;
    pid_t pid = spawn({"run", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                       "trap 'echo trapped-TERM; exit 42' TERM; trap 'echo trapped-INT; exit 43' INT; "
                       "trap 'echo trapped-HUP; exit 44' HUP; echo ready; while true; do sleep 0.1; done"},
                      &out);
    std::string acc;
    ASSERT_TRUE(readUntil(out, &acc, "ready\n", std::chrono::seconds(20))) << acc;
    ASSERT_EQ(kill(pid, sig), 0);
    EXPECT_EQ(waitExit(pid), code) << "signal " << sig;
    readUntil(out, &acc, "\n__never__", std::chrono::seconds(1));
    close(out);
    EXPECT_NE(acc.find("trapped-"), std::string::npos) << acc;
    EXPECT_TRUE(noContainers()) << "a container stayed after warren run got signal " << sig;
  }
}

TEST_F(ROOT_CliIo, RunItGivesTheCommandOurTerminalItsSizeAndItsResize) {
  winsize ws{};
  ws.ws_row = 33;
  ws.ws_col = 99;
  int master = -1, out = -1;
  pid_t pid = spawn({"run", "-it", "--rootfs", rootfs_, "--", "/bin/sh"}, &out, &master, &ws);
  ASSERT_GT(pid, 0);
  std::string acc;
  ASSERT_EQ(write(master, "stty size; tty\n", 15), 15);
  EXPECT_TRUE(readUntil(master, &acc, "33 99", std::chrono::seconds(20))) << acc;
  EXPECT_TRUE(readUntil(master, &acc, "/dev/pts/", std::chrono::seconds(10))) << acc;
  ws.ws_row = 44;
  ws.ws_col = 111;
  ASSERT_EQ(ioctl(master, TIOCSWINSZ, &ws), 0);  // the kernel sends warren SIGWINCH
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(write(master, "stty size\n", 10), 10);
  EXPECT_TRUE(readUntil(master, &acc, "44 111", std::chrono::seconds(10))) << acc;
  ASSERT_EQ(write(master, "echo typed''-here\n", 18), 18);
  EXPECT_TRUE(readUntil(master, &acc, "typed-here", std::chrono::seconds(10))) << acc;
  EXPECT_NE(acc.find("echo typed''-here"), std::string::npos) << acc;  // echoed by the container's terminal
  ASSERT_EQ(write(master, "exit 3\n", 7), 7);
  EXPECT_EQ(waitExit(pid), 3) << acc;
  close(master);
  EXPECT_TRUE(noContainers());
}

TEST_F(ROOT_CliIo, ExecRunsInTheContainerAndLogsKeepItsOutput) {
  auto l = warren({"launch", "--id", "e1", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                   "echo hello-log; echo oops >&2; exec sleep 600"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  auto e = warren({"exec", "e1", "--", "/bin/sh", "-c", "echo in-exec; ps; exit 5"});
  EXPECT_EQ(e.exit_code, 5) << e.err;
  EXPECT_EQ(e.out.rfind("in-exec\n", 0), 0u) << e.out;
  EXPECT_NE(e.out.find("sleep 600"), std::string::npos) << e.out;  // it sees the container's processes
  std::string log;
  for (int i = 0; i < 50 && log.empty(); ++i) {
    log = warren({"logs", "e1"}).out;
    if (log.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(log, "hello-log\n");
  EXPECT_EQ(warren({"logs", "--stderr", "e1"}).out, "oops\n");
  auto ps = warren({"--json", "ps"});
  EXPECT_EQ(ps.out.find("exec-"), std::string::npos) << "the exec container stayed: " << ps.out;
  auto bad = warren({"exec", "nope", "--", "true"});
  EXPECT_EQ(bad.exit_code, 125) << bad.err;
  EXPECT_EQ(warren({"destroy", "e1"}).exit_code, 0);
  EXPECT_TRUE(noContainers());
}

TEST_F(ROOT_CliIo, LogsFollowAndAttachSeeLiveOutput) {
  auto l = warren({"launch", "--id", "f1", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                   "echo first; sleep 1; echo second; sleep 1; exit 6"});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  int out = -1;
  pid_t follow = spawn({"logs", "-f", "f1"}, &out);
  std::string acc;
  EXPECT_TRUE(readUntil(out, &acc, "second\n", std::chrono::seconds(20))) << acc;
  EXPECT_EQ(waitExit(follow), 0);
  close(out);
  EXPECT_EQ(acc.rfind("first\n", 0), 0u) << acc;
  auto w = warren({"wait", "f1"});
  EXPECT_EQ(w.exit_code, 6);
  auto a = warren({"attach", "f1"});  // ended: nothing live to attach to
  EXPECT_EQ(a.exit_code, 125) << a.err;
  EXPECT_EQ(warren({"destroy", "f1"}).exit_code, 0);
}

TEST_F(ROOT_CliIo, RunIPassesOurStdinThroughByteExact) {
  std::string data;
  for (int i = 0; i < 200000; ++i) data += static_cast<char>((i * 7919) & 0xff);
  std::string in = env_.root + "/stdin.bin";
  {
    FILE* f = fopen(in.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(data.data(), 1, data.size(), f);
    fclose(f);
  }
  int out = -1;
  int fd = open(in.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto argv = base();
  for (std::string a : std::vector<std::string>{"run", "-i", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "cat; exit 9"}) argv.push_back(a);
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 0);
    dup2(p[1], 1);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  close(p[1]);
  close(fd);
  out = p[0];
  std::string got;
  readUntil(out, &got, "\n__never__", std::chrono::seconds(30));
  close(out);
  EXPECT_EQ(waitExit(pid), 9);
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "stdout differs from stdin";
  EXPECT_TRUE(noContainers());
}

TEST_F(ROOT_CliIo, AgentApiMountsWarrendsSocketAndNeedsIt) {
  std::vector<std::string> argv = {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
                                   "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir,
                                   "--isolation", "filesystem/linux,pid,volumes",
                                   "run", "--agent_api", "--rootfs", rootfs_, "--", "/bin/sh", "-c",
                                   "echo $WARREN_AGENT_SOCKET; test -S /run/warren-agent/warrend.sock && echo is-socket"};
  auto none = runCmd(argv);  // no warrend: refused before anything is made
  EXPECT_EQ(none.exit_code, 125);
  EXPECT_NE(none.err.find("--agent_api: no warrend agent socket"), std::string::npos) << none.err;
  // A socket where warrend puts its agent socket (the test stands in for warrend).
  std::string dir = env_.runtime_dir + "/agent";
  ASSERT_EQ(system(("mkdir -p " + dir).c_str()), 0);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string path = dir + "/warrend.sock";
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, path.c_str());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  auto r = runCmd(argv);
  close(fd);
  unlink(path.c_str());
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "/run/warren-agent/warrend.sock\nis-socket\n");
  EXPECT_TRUE(noContainers());
}

}  // namespace
}  // namespace warren::testing
