// The agent API over warrend's socket: calls, idempotence, errors, bodies.
#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <atomic>
#include <thread>

#include <poll.h>

#include "client.hpp"
#include "daemon_test_base.hpp"
#include "warren/agent/v1/agent.pb.h"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

class ROOT_DaemonApi : public DaemonTest {};

TEST_F(ROOT_DaemonApi, LaunchIsIdempotentWaitGivesTheWaitStatusRemoveTwiceIsFine) {
  auto r = d_->call(launchCall("c1", "exit 3", rootfs_));
  ASSERT_EQ(r.status, 200) << r.body;
  r = d_->call(launchCall("c1", "exit 3", rootfs_));
  EXPECT_EQ(r.status, 202) << r.body;  // same ID, same config
  r = d_->call(launchCall("c1", "exit 4", rootfs_));
  EXPECT_EQ(r.status, 409) << r.body;  // same ID, another config
  EXPECT_EQ(r.json["error"], "container 'c1' already exists with a different config");

  r = d_->call(waitCall("c1"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto w = termination(r);
  EXPECT_EQ(r.json["type"], "WAIT_CONTAINER");
  EXPECT_EQ(w["exit_status"], 3 << 8);
  EXPECT_EQ(w["state"], "TASK_FAILED");
  EXPECT_EQ(w["termination"]["reason"], "COMMAND_EXITED");

  // The record stays until removed; removing twice is fine; then it is gone.
  EXPECT_EQ(d_->call(waitCall("c1")).body, r.body);
  EXPECT_EQ(d_->call(removeCall("c1")).status, 200);
  EXPECT_EQ(d_->call(removeCall("c1")).status, 200);
  r = d_->call(waitCall("c1"));
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_FALSE(fs::exists(env_.work_dir + "/sandboxes/c1"));
}

// warren-agent --pipeline: LAUNCH, WAIT and REMOVE sent at once on one
// connection are answered in order, each with its own answer.
TEST_F(ROOT_DaemonApi, PipelinedCallsOnOneConnectionAreAnsweredInOrder) {
  auto answers = daemon::callAgentPipelined(
      d_->socket(), {launchCall("p1", "echo hi; exit 5", rootfs_).dump(), waitCall("p1").dump(),
                     removeCall("p1").dump(), waitCall("p1").dump()},
      std::chrono::seconds(60));
  ASSERT_EQ(answers.size(), 4u);
  EXPECT_EQ(answers[0].status, 200) << answers[0].body << answers[0].error;
  ASSERT_EQ(answers[1].status, 200) << answers[1].body << answers[1].error;
  auto w = Json::parse(answers[1].body, nullptr, false);
  EXPECT_EQ(w["wait_container"]["exit_status"], 5 << 8) << answers[1].body;
  EXPECT_EQ(answers[2].status, 200) << answers[2].body;
  EXPECT_EQ(answers[3].status, 404) << answers[3].body;  // removed by the call before it
  EXPECT_FALSE(fs::exists(env_.work_dir + "/sandboxes/p1"));
  // Nothing answers: every call says why.
  auto none = daemon::callAgentPipelined(env_.runtime_dir + "/nobody.sock", {waitCall("p1").dump()});
  ASSERT_EQ(none.size(), 1u);
  EXPECT_EQ(none[0].status, 0);
  EXPECT_NE(none[0].error.find("connect"), std::string::npos) << none[0].error;
}

TEST_F(ROOT_DaemonApi, RemovingARunningContainerIs400AndLeavesItRunning) {
  ASSERT_EQ(d_->call(launchCall("r1", "sleep 600", rootfs_)).status, 200);
  auto r = d_->call(removeCall("r1"));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json["error"], "container 'r1' is RUNNING; kill it and wait before removing it");
  auto g = d_->call(getContainers());
  ASSERT_EQ(g.status, 200);
  ASSERT_EQ(g.json["get_containers"]["containers"].size(), 1u);
  EXPECT_EQ(g.json["get_containers"]["containers"][0]["state"], "RUNNING");
  // Kill with the default signal (SIGKILL).
  EXPECT_EQ(d_->call(killCall("r1")).status, 200);
  auto w = termination(d_->call(waitCall("r1")));
  EXPECT_EQ(w["exit_status"], SIGKILL);
  EXPECT_EQ(w["state"], "TASK_KILLED");
  EXPECT_EQ(w["termination"]["reason"], "KILLED");
}

TEST_F(ROOT_DaemonApi, BadRequestsGetOneLineJsonErrors) {
  struct Case {
    std::string body, content_type;
    int status;
    std::string error;
  };
  std::vector<Case> cases = {
      {"{\"type\": \"GET_CONTAINERS\",", "application/json", 400, "malformed JSON body"},
      {"{\"type\": \"FLY\"}", "application/json", 400, "malformed JSON body"},
      {"{\"type\": \"GET_STATE\"}", "application/json", 400, "malformed JSON body"},
      {"{\"type\": \"UNKNOWN\"}", "application/json", 400, "unknown or unsupported call type 0"},
      {"{\"type\": \"WAIT_CONTAINER\"}", "application/json", 400, "call WAIT_CONTAINER needs 'wait_container'"},
      {"{\"type\": \"GET_CONTAINERS\"}", "text/plain", 415, "unsupported Content-Type 'text/plain'"},
      {"\x01\x02\x03", "application/x-protobuf", 400, "malformed protobuf body"},
      {R"({"type":"KILL_CONTAINER","kill_container":{"container_id":{"value":"nope"}}})", "application/json",
       404, "container 'nope'"},
      {R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"a b"},"command":{"value":"true"}}})",
       "application/json", 400, "'container_id'"},
      {R"({"type":"LAUNCH_CONTAINER","launch_container":{"container_id":{"value":"x"}}})", "application/json",
       400, "the launch has no command"},
      {R"({"type":"KILL_CONTAINER","kill_container":{"container_id":{"value":"x"},"signal":99}})",
       "application/json", 400, "invalid signal 99"},
  };
  for (const auto& c : cases) {
    auto r = d_->callRaw(c.body, c.content_type);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    ASSERT_TRUE(r.json.is_object()) << r.body;
    std::string e = r.json.value("error", "");
    EXPECT_NE(e.find(c.error), std::string::npos) << c.body << " -> " << e;
    EXPECT_EQ(r.body.find('\n'), r.body.size() - 1) << "one line: " << r.body;
  }
  // Nothing was made by any of them.
  EXPECT_TRUE(listDir(env_.runtime_dir + "/containers").empty());
}

TEST_F(ROOT_DaemonApi, ProtobufBodiesBothWays) {
  ASSERT_EQ(d_->call(launchCall("p1", "sleep 600", rootfs_)).status, 200);
  agent::v1::Call call;
  call.set_type(agent::v1::Call::GET_CONTAINERS);
  std::string bytes;
  call.SerializeToString(&bytes);
  auto r = daemon::callAgent(d_->socket(), bytes, std::chrono::seconds(30), "application/x-protobuf",
                             "application/x-protobuf");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.content_type, "application/x-protobuf");
  agent::v1::Response resp;
  ASSERT_TRUE(resp.ParseFromString(r.body));
  EXPECT_EQ(resp.type(), agent::v1::Response::GET_CONTAINERS);
  ASSERT_EQ(resp.get_containers().containers_size(), 1);
  EXPECT_EQ(resp.get_containers().containers(0).container_id().value(), "p1");
  EXPECT_GT(resp.get_containers().containers(0).container_status().executor_pid(), 0u);
}

TEST_F(ROOT_DaemonApi, HundredMegabyteBodyIs413BeforeItIsRead) {
  long before = d_->rssKb();
  ASSERT_GT(before, 0);
  std::string big(100u << 20, 'x');
  auto r = daemon::callAgent(d_->socket(), big, std::chrono::seconds(60));
  EXPECT_EQ(r.status, 413) << r.error << r.body;
  EXPECT_NE(r.body.find("over the limit of 4194304"), std::string::npos) << r.body;
  long after = d_->rssKb();
  EXPECT_LT(after - before, 1024) << "RSS grew from " << before << " kB to " << after << " kB";
  // It still serves.
  EXPECT_EQ(d_->call(getContainers()).status, 200);
}

TEST_F(ROOT_DaemonApi, FiftyConcurrentLaunchesAndTwoHundredConcurrentWaits) {
  constexpr int kLaunches = 50, kWaitsEach = 4;
  std::vector<std::thread> ts;
  std::atomic<int> launched{0};
  // Each exits with its own code once /go appears in its rootfs, so every
  // wait is pending when the commands end.
  std::vector<std::string> roots;
  for (int i = 0; i < kLaunches; ++i) roots.push_back(env_.makeRootfs("rootfs-m" + std::to_string(i)));
  for (int i = 0; i < kLaunches; ++i) {
    ts.emplace_back([&, i] {
      auto call = launchCall("m" + std::to_string(i),
                             "while [ ! -e /go ]; do sleep 0.05; done; exit " + std::to_string(i), roots[i]);
      // The test signals through the rootfs dir: written through (issue #18).
      call["launch_container"]["warren"]["config"]["rootfs_writable"] = true;
      auto r = d_->call(call);
      if (r.status == 200) ++launched;
      else ADD_FAILURE() << "launch m" << i << ": " << r.status << " " << r.body;
    });
  }
  for (auto& t : ts) t.join();
  ASSERT_EQ(launched, kLaunches);
  ts.clear();
  std::atomic<int> right{0};
  for (int i = 0; i < kLaunches * kWaitsEach; ++i) {
    ts.emplace_back([&, i] {
      int n = i % kLaunches;
      auto r = d_->call(waitCall("m" + std::to_string(n)));
      auto w = termination(r);
      if (r.status == 200 && w["exit_status"] == (n << 8)) ++right;
      else ADD_FAILURE() << "wait m" << n << ": " << r.status << " " << r.body;
    });
  }
  // Let every wait connect and block, then release the commands.
  ::usleep(500000);
  for (int i = 0; i < kLaunches; ++i) {
    ASSERT_TRUE(fs::writeFile(roots[i] + "/go", "1"));
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(right, kLaunches * kWaitsEach);
}

class ROOT_DaemonSlowClients : public DaemonTest {
 protected:
  std::vector<std::string> flags() const override {
    return {"--header_timeout_ms=1000", "--max_connections=8"};
  }
  int connectRaw() {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", d_->socket().c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }
};

TEST_F(ROOT_DaemonSlowClients, AStalledClientBlocksNobodyAndIsDroppedAfterTheHeaderTimeout) {
  std::vector<int> stalled;
  for (int i = 0; i < 4; ++i) {
    int fd = connectRaw();
    ASSERT_GE(fd, 0);
    std::string half = "POST /api/v1 HTTP/1.1\r\nContent-Type: appl";
    ASSERT_EQ(::send(fd, half.data(), half.size(), MSG_NOSIGNAL), static_cast<ssize_t>(half.size()));
    stalled.push_back(fd);
  }
  // Others are served meanwhile.
  EXPECT_EQ(d_->call(getContainers()).status, 200);
  // The stalled ones are closed by warrend (EOF) once their header time is up.
  for (int fd : stalled) {
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "not dropped";
    char c;
    EXPECT_EQ(::recv(fd, &c, 1, 0), 0);
    ::close(fd);
  }
}

TEST_F(ROOT_DaemonSlowClients, ConnectionsOverTheLimitGet503) {
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) {
    int fd = connectRaw();
    ASSERT_GE(fd, 0);
    held.push_back(fd);
  }
  // Once all eight are accepted (and wait for their headers), a ninth gets 503.
  Reply r;
  EXPECT_TRUE(eventually([&] { return (r = d_->call(getContainers())).status == 503; }));
  EXPECT_EQ(r.json.value("error", ""), "too many connections") << r.body;
  for (int fd : held) ::close(fd);
  EXPECT_TRUE(eventually([&] { return d_->call(getContainers()).status == 200; }));
}

}  // namespace
}  // namespace warren::testing
