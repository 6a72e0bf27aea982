// The CLI through warrend (--daemon) and `warren events`: the same exit codes
// embedded and through warrend, a forwarded signal's real outcome recorded,
// events as lines/JSON ending cleanly on SIGINT/SIGTERM.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "daemon_test_base.hpp"

namespace warren::testing {
namespace {

using Clock = std::chrono::steady_clock;

class ROOT_CliDaemon : public DaemonTest {
 protected:
  std::vector<std::string> base(const std::string& mode) {
    return {env_.warren_bin, "--work_dir", env_.work_dir, "--runtime_dir", env_.runtime_dir,
            "--cgroups_root", env_.cgroups_root, "--plugin_dir", env_.plugin_dir, "--init_path", env_.init_path,
            "--isolation", "filesystem/linux,pid,volumes", "--daemon=" + mode};
  }
  // A container's sandbox on the host: the container writes its markers
  // there ($WARREN_SANDBOX), since its --rootfs dir is a read-only lower layer.
  std::string sandbox(const std::string& id) const { return env_.work_dir + "/sandboxes/" + id; }
  CmdResult warren(const std::string& mode, std::vector<std::string> args) {
    auto argv = base(mode);
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv);
  }
  // warren with stdout on a pipe.
  pid_t spawn(const std::string& mode, std::vector<std::string> args, int* out_fd) {
    auto argv = base(mode);
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
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
  bool launchedByWarrend(const std::string& id) {
    return d_->log().find("container_id=" + id + " launched by host root") != std::string::npos;
  }
};

TEST_F(ROOT_CliDaemon, SameExitCodesEmbeddedAndThroughWarrend) {
  for (std::string mode : {"never", "always"}) {
    SCOPED_TRACE("--daemon=" + mode);
    std::string root = env_.makeRootfs("r-" + mode);
    // exit 3, with the command's output on our stdout either way.
    auto r = warren(mode, {"run", "--id", "x3-" + mode, "--rootfs", root, "--", "/bin/sh", "-c", "echo out-here; exit 3"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    EXPECT_EQ(r.out, "out-here\n") << r.err;
    EXPECT_EQ(launchedByWarrend("x3-" + mode), mode == "always");

    // SIGTERM to `warren run`, forwarded; the command traps it and exits 7:
    // recorded as its own exit (COMMAND_EXITED 7), not as KILLED.
    int out = -1;
    pid_t pid = spawn(mode, {"--json", "run", "--id", "t7-" + mode, "--rootfs", root, "--", "/bin/sh", "-c",
                             "trap 'exit 7' TERM; touch \"$WARREN_SANDBOX/ready\"; while true; do sleep 0.05; done"},
                      &out);
    ASSERT_TRUE(eventually([&] { return fs::exists(sandbox("t7-" + mode) + "/ready"); }, std::chrono::seconds(20)));
    ASSERT_EQ(kill(pid, SIGTERM), 0);
    EXPECT_EQ(waitExit(pid), 7);
    std::string doc;
    readUntil(out, &doc, "\n__never__", std::chrono::seconds(2));
    close(out);
    Json j = Json::parse(doc, nullptr, false);
    ASSERT_TRUE(j.is_object()) << doc;
    EXPECT_EQ(j["exit_code"], 7) << doc;
    EXPECT_EQ(j["termination"]["reason"], "COMMAND_EXITED") << doc;

    // SIGKILL through `warren kill` while `warren run` waits: 137.
    pid = spawn(mode, {"run", "--id", "k9-" + mode, "--rootfs", root, "--", "/bin/sh", "-c",
                       "touch \"$WARREN_SANDBOX/ready\"; sleep 600"},
                &out);
    ASSERT_TRUE(eventually([&] { return fs::exists(sandbox("k9-" + mode) + "/ready"); }, std::chrono::seconds(20)));
    auto k = warren(mode, {"kill", "k9-" + mode, "KILL"});
    EXPECT_EQ(k.exit_code, 0) << k.err;
    EXPECT_EQ(waitExit(pid), 137);
    close(out);
    EXPECT_EQ(launchedByWarrend("k9-" + mode), mode == "always");
    auto ps = warren(mode, {"--json", "ps"});
    EXPECT_EQ(ps.exit_code, 0);
    EXPECT_EQ(ps.out.find("\"id\""), std::string::npos) << "warren run leaves nothing: " << ps.out;
  }
}

TEST_F(ROOT_CliDaemon, AlwaysWithoutWarrendNamesTheSocketAndAutoFallsBack) {
  std::string sock = env_.root + "/nobody.sock";
  auto r = warren("always", {"--api_socket", sock, "ps"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("warrend does not answer on '" + sock + "'"), std::string::npos) << r.err;
  r = warren("auto", {"--api_socket", sock, "run", "--id", "fb", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "exit 4"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_FALSE(launchedByWarrend("fb"));
  // auto with warrend answering goes through it.
  r = warren("auto", {"run", "--id", "via", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "exit 5"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_TRUE(launchedByWarrend("via"));
  r = warren("never", {"events"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("warren events needs warrend"), std::string::npos) << r.err;
  r = warren("sometimes", {"ps"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("invalid --daemon 'sometimes'"), std::string::npos) << r.err;
}

TEST_F(ROOT_CliDaemon, EventsAsJsonAndLinesEndOnSignal) {
  int jout = -1, tout = -1;
  pid_t jpid = spawn("auto", {"--json", "events"}, &jout);
  pid_t tpid = spawn("auto", {"events", "--id", "e1"}, &tout);
  std::string jacc, tacc;
  ASSERT_TRUE(readUntil(jout, &jacc, "\"subscribed\"", std::chrono::seconds(20))) << jacc;
  // The line form prints no "subscribed": give it a moment to subscribe.
  ASSERT_TRUE(eventually([&] { return d_->log().find("events subscriber") != d_->log().rfind("events subscriber"); },
                         std::chrono::seconds(20)));
  auto r = warren("auto", {"launch", "--id", "e1", "--rootfs", rootfs_, "--", "/bin/sh", "-c", "exit 2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(warren("auto", {"wait", "e1"}).exit_code, 2);
  EXPECT_EQ(warren("auto", {"destroy", "e1"}).exit_code, 0);
  ASSERT_TRUE(readUntil(jout, &jacc, "\"destroyed\"", std::chrono::seconds(20))) << jacc;
  ASSERT_TRUE(readUntil(tout, &tacc, " destroyed", std::chrono::seconds(20))) << tacc;
  ASSERT_EQ(kill(jpid, SIGINT), 0);
  ASSERT_EQ(kill(tpid, SIGTERM), 0);
  EXPECT_EQ(waitExit(jpid), 0);
  EXPECT_EQ(waitExit(tpid), 0);
  close(jout);
  close(tout);

  std::vector<std::string> types;
  std::istringstream in(jacc);
  std::string line;
  Json terminated;
  while (std::getline(in, line)) {
    Json e = Json::parse(line, nullptr, false);
    ASSERT_TRUE(e.is_object()) << "not one JSON object per line: " << line;
    types.push_back(std::string(e["type"]) + (e["id"].is_string() ? " " + std::string(e["id"]) : ""));
    if (e["type"] == "terminated") terminated = e;
  }
  EXPECT_EQ(types, (std::vector<std::string>{"subscribed", "launched e1", "running e1", "terminated e1",
                                             "destroyed e1"}))
      << jacc;
  EXPECT_EQ(terminated["exit_code"], 2) << jacc;
  EXPECT_EQ(terminated["termination"]["reason"], "COMMAND_EXITED") << jacc;
  // Lines: "<time> e1 <event>[ detail]".
  std::vector<std::string> words;
  std::istringstream tin(tacc);
  while (std::getline(tin, line)) {
    std::istringstream ls(line);
    std::string when, id, what;
    ls >> when >> id >> what;
    EXPECT_EQ(id, "e1") << tacc;
    EXPECT_EQ(when.size(), 24u) << "ISO time: " << tacc;
    words.push_back(what);
  }
  EXPECT_EQ(words, (std::vector<std::string>{"launched", "running", "terminated", "destroyed"})) << tacc;
  EXPECT_NE(tacc.find("e1 terminated command exited with status 2 (COMMAND_EXITED, exit code 2)"), std::string::npos)
      << tacc;
}

TEST_F(ROOT_CliDaemon, GroupsExecAndDestroyThroughWarrend) {
  auto r = warren("always", {"launch", "--id", "pod", "--rootfs", rootfs_, "--", "sleep", "600"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string spec = env_.root + "/g.json";
  ASSERT_TRUE(fs::writeFile(spec, R"({"name":"g","members":[
      {"name":"a","config":{"command":{"value":"exit 3","shell":true}}},
      {"name":"b","config":{"command":{"value":"sleep 600","shell":true}}}]})"));
  r = warren("always", {"group", "launch", "--parent", "pod", spec});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "pod.a\npod.b\n");
  r = warren("always", {"--json", "group", "wait", "pod", "g"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("GROUP_MEMBER_FAILED"), std::string::npos) << r.out;
  r = warren("always", {"exec", "pod", "--", "/bin/sh", "-c", "echo in-exec; exit 4"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.out, "in-exec\n");
  r = warren("always", {"kill", "pod.a"});
  EXPECT_EQ(r.exit_code, 125) << "as embedded: it is not running";
  EXPECT_NE(r.err.find("container 'pod.a' is not running"), std::string::npos) << r.err;
  r = warren("always", {"destroy", "pod"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(entry("pod").is_null()) << "removed through warrend";
  EXPECT_TRUE(launchedByWarrend("pod"));
  EXPECT_NE(d_->log().find("task group 'g' under 'pod' launched by host root"), std::string::npos);
}

}  // namespace
}  // namespace warren::testing
