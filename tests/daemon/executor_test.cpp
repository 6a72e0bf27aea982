// An "executor" inside a container manages its own nested containers through
// the socket mounted into it - and nothing else (403).
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <sstream>

#include "daemon_test_base.hpp"

namespace warren::testing {
namespace {

class ROOT_DaemonExecutor : public DaemonTest {};

std::string idJson(const std::string& dotted) { return cid(dotted).dump(); }

TEST_F(ROOT_DaemonExecutor, ManagesItsOwnNestedContainersAndIsRefusedEverythingElse) {
  // Someone else's containers.
  ASSERT_EQ(d_->call(launchCall("other", "sleep 600", rootfs_)).status, 200);
  ASSERT_EQ(launchNested("other.kid", "sleep 600").status, 200);

  std::string root = env_.makeRootfs("ex");
  std::filesystem::copy_file(AGENT_CALL_PATH, root + "/agent_call");
  ::chmod((root + "/agent_call").c_str(), 0755);
  auto launch = [](const std::string& id, const std::string& cmd) {
    return Json{{"type", "LAUNCH_NESTED_CONTAINER"},
                {"launch_nested_container", {{"container_id", cid(id)}, {"command", {{"value", cmd}}}}}}
        .dump();
  };
  auto ref = [](const char* type, const char* field, const std::string& id) {
    return Json{{"type", type}, {field, {{"container_id", cid(id)}}}}.dump();
  };
  std::vector<std::pair<std::string, std::string>> steps = {
      {"L1", launch("ex.t1", "exit 5")},
      {"L2", launch("ex.t2", "sleep 600")},
      {"W1", ref("WAIT_NESTED_CONTAINER", "wait_nested_container", "ex.t1")},
      {"K2", ref("KILL_NESTED_CONTAINER", "kill_nested_container", "ex.t2")},
      {"W2", ref("WAIT_NESTED_CONTAINER", "wait_nested_container", "ex.t2")},
      {"G", Json{{"type", "GET_CONTAINERS"}, {"get_containers", {{"show_nested", true}}}}.dump()},
      {"X1", ref("KILL_NESTED_CONTAINER", "kill_nested_container", "other.kid")},
      {"X2", ref("KILL_CONTAINER", "kill_container", "other")},
      {"X3", launch("other.evil", "true")},
      {"X4", ref("KILL_CONTAINER", "kill_container", "ex")},
      {"X5", Json{{"type", "LAUNCH_CONTAINER"},
                  {"launch_container", {{"container_id", cid("top")}, {"command", {{"value", "true"}}}}}}
                 .dump()},
      // The streaming calls follow the same rules (issue #15).
      {"X6", ref("ATTACH_CONTAINER_OUTPUT", "attach_container_output", "other")},
      {"X7", Json{{"type", "LAUNCH_NESTED_CONTAINER_SESSION"},
                  {"launch_nested_container_session", {{"container_id", cid("other.dbg")}, {"command", {{"value", "ps"}}}}}}
                 .dump()},
  };
  std::string script = "S=\"$WARREN_AGENT_SOCKET\"; test -S \"$S\" || echo 'NOSOCKET'\n";
  for (const auto& [tag, body] : steps) {
    std::string quoted = "'";
    for (char c : body) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    quoted += "'";
    script += "echo \"" + tag + " $(/agent_call \"$S\" " + quoted + ")\"\n";
  }
  auto r = d_->call(launchCall("ex", script, root, /*agent_api=*/true));
  ASSERT_EQ(r.status, 200) << r.body;
  auto w = termination(d_->call(waitCall("ex")));
  EXPECT_EQ(w["exit_status"], 0) << w.dump();
  auto out = fs::readFile(env_.work_dir + "/sandboxes/ex/stdout");
  ASSERT_TRUE(out);
  std::map<std::string, std::pair<int, Json>> got;
  std::istringstream in(*out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string tag;
    int status = 0;
    ls >> tag >> status;
    std::string rest;
    std::getline(ls, rest);
    got[tag] = {status, Json::parse(rest, nullptr, false)};
  }
  ASSERT_EQ(got.count("NOSOCKET"), 0u) << *out;
  EXPECT_EQ(got["L1"].first, 200) << *out;
  EXPECT_EQ(got["L2"].first, 200) << *out;
  EXPECT_EQ(got["W1"].first, 200) << *out;
  EXPECT_EQ(got["W1"].second["wait_nested_container"]["exit_status"], 5 << 8) << *out;
  EXPECT_EQ(got["K2"].first, 200) << *out;
  EXPECT_EQ(got["W2"].second["wait_nested_container"]["termination"]["reason"], "KILLED") << *out;
  // It sees only its own descendants.
  EXPECT_EQ(got["G"].first, 200) << *out;
  EXPECT_EQ(got["G"].second["get_containers"]["containers"].size(), 2u) << *out;
  for (const char* x : {"X1", "X2", "X3", "X4", "X5", "X6", "X7"}) {
    EXPECT_EQ(got[x].first, 403) << x << "\n" << *out;
    EXPECT_NE(std::string(got[x].second.value("error", "")).find("container 'ex'"), std::string::npos)
        << x << "\n" << *out;
  }
  // The others are untouched.
  EXPECT_EQ(entry("other")["state"], "RUNNING");
  EXPECT_EQ(entry("other.kid")["state"], "RUNNING");
  EXPECT_TRUE(entry("other.evil").is_null());
  EXPECT_TRUE(entry("other.dbg").is_null());
  EXPECT_TRUE(entry("top").is_null());
}

TEST_F(ROOT_DaemonExecutor, ContainersWithoutAgentApiHaveNoSocket) {
  auto r = d_->call(launchCall("plain", "test -e /run/warren-agent/warrend.sock && exit 1; "
                                        "test -n \"$WARREN_AGENT_SOCKET\" && exit 2; exit 0",
                                rootfs_));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(termination(d_->call(waitCall("plain")))["exit_status"], 0);
}

TEST_F(ROOT_DaemonExecutor, AHostUserThatIsNotRootIsRefused) {
  // Let uid 65534 reach the agent socket (our own scratch dirs only).
  for (std::string p = env_.runtime_dir + "/agent"; p.size() > 5; p = p.substr(0, p.rfind('/'))) {
    ::chmod(p.c_str(), 0755);
  }
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    // Through the agent socket (mode 0666); the main one is root-only.
    auto r = daemon::callAgent(env_.runtime_dir + "/agent/warrend.sock", getContainers().dump());
    ::_exit(r.status == 403 ? 0 : 1);
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
}

}  // namespace
}  // namespace warren::testing
