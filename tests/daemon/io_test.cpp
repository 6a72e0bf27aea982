// Container I/O through warrend (issue #15): ATTACH_CONTAINER_OUTPUT/INPUT,
// LAUNCH_NESTED_CONTAINER_SESSION, TTYs, logs that outlive warrend.
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <algorithm>
#include <thread>

#include <google/protobuf/util/json_util.h>

#include "daemon_test_base.hpp"
#include "stream_client.hpp"
#include "warren/agent/v1/agent.pb.h"

namespace warren::testing {
namespace {

using daemon::AgentStream;
using Clock = std::chrono::steady_clock;

class ROOT_DaemonIo : public DaemonTest {
 protected:
  // A top-level container running `script`, with warren config `extra`.
  Reply launchWith(const std::string& id, const std::string& script, Json extra = Json::object()) {
    Json call = launchCall(id, script, rootfs_);
    std::string field = id.find('.') != std::string::npos ? "launch_nested_container" : "launch_container";
    for (auto& [k, v] : extra.items()) call[field]["warren"]["config"][k] = v;
    return d_->call(call);
  }
  AgentStream attachOutput(const std::string& id) {
    Json c = {{"type", "ATTACH_CONTAINER_OUTPUT"}, {"attach_container_output", {{"container_id", cid(id)}}}};
    return daemon::openOutputStream(d_->socket(), c.dump());
  }
  AgentStream session(const std::string& id, const std::string& script, Json container = nullptr) {
    Json m = {{"container_id", cid(id)}, {"command", {{"value", script}}}};
    if (!container.is_null()) m["container"] = container;
    Json c = {{"type", "LAUNCH_NESTED_CONTAINER_SESSION"}, {"launch_nested_container_session", m}};
    return daemon::openOutputStream(d_->socket(), c.dump());
  }
  // Opens an input attach and sends its first record.
  AgentStream attachInput(const std::string& id) {
    AgentStream s = daemon::openInputStream(d_->socket());
    Json first = {{"type", "ATTACH_CONTAINER_INPUT"},
                  {"attach_container_input", {{"type", "CONTAINER_ID"}, {"container_id", cid(id)}}}};
    EXPECT_TRUE(daemon::sendRecord(s, first.dump()));
    return s;
  }
  static bool sendStdin(AgentStream& s, const std::string& data) {
    agent::v1::Call c;
    c.set_type(agent::v1::Call::ATTACH_CONTAINER_INPUT);
    auto* a = c.mutable_attach_container_input();
    a->set_type(agent::v1::Call::AttachContainerInput::PROCESS_IO);
    a->mutable_process_io()->set_type(agent::v1::ProcessIO::DATA);
    a->mutable_process_io()->mutable_data()->set_type(agent::v1::ProcessIO::Data::STDIN);
    a->mutable_process_io()->mutable_data()->set_data(data);
    std::string json;
    (void)google::protobuf::util::MessageToJsonString(c, &json);
    return daemon::sendRecord(s, json);
  }
  static bool sendWindow(AgentStream& s, int rows, int cols) {
    Json c = {{"type", "ATTACH_CONTAINER_INPUT"},
              {"attach_container_input",
               {{"type", "PROCESS_IO"},
                {"process_io",
                 {{"type", "CONTROL"},
                  {"control", {{"type", "TTY_INFO"}, {"tty_info", {{"window_size", {{"rows", rows}, {"columns", cols}}}}}}}}}}}};
    return daemon::sendRecord(s, c.dump());
  }
  struct Output {
    std::string out, err;
    bool ended = false;
  };
  // Reads records until the stream ends, `until` appears in stdout, or the timeout.
  static void read(AgentStream& s, Output* o, std::chrono::milliseconds timeout, const std::string& until = "") {
    auto deadline = Clock::now() + timeout;
    std::string rec;
    while (Clock::now() < deadline) {
      if (!until.empty() && o->out.find(until) != std::string::npos) return;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (!daemon::nextRecord(s, &rec, left)) {
        o->ended = s.ended;
        return;
      }
      agent::v1::ProcessIO m;
      ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(rec, &m).ok()) << rec;
      ASSERT_EQ(m.type(), agent::v1::ProcessIO::DATA) << rec;
      if (m.data().type() == agent::v1::ProcessIO::Data::STDOUT) o->out += m.data().data();
      else if (m.data().type() == agent::v1::ProcessIO::Data::STDERR) o->err += m.data().data();
    }
  }
  std::string sandboxFile(const std::string& id, const std::string& name) {
    std::ifstream f(env_.work_dir + "/sandboxes/" + id + "/" + name, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  void killAndRemove(const std::string& id) {
    d_->call(killCall(id));
    d_->call(waitCall(id));
    EXPECT_EQ(d_->call(removeCall(id)).status, 200);
  }
};

TEST_F(ROOT_DaemonIo, SessionRunsPsInARunningContainerAndStreamsItsOutput) {
  ASSERT_EQ(launchWith("p1", "exec sleep 600").status, 200);
  AgentStream s = session("p1.dbg", "ps; echo to-stderr >&2");
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.content_type, "application/recordio");
  Output o;
  read(s, &o, std::chrono::seconds(20));
  EXPECT_TRUE(o.ended);
  EXPECT_NE(o.out.find("sleep 600"), std::string::npos) << o.out;  // the parent's process, seen from the session
  EXPECT_NE(o.out.find("PID"), std::string::npos) << o.out;
  EXPECT_EQ(o.err, "to-stderr\n");
  daemon::closeStream(s);
  auto w = termination(d_->call(waitCall("p1.dbg")));
  EXPECT_EQ(w["exit_status"], 0);
  EXPECT_EQ(d_->call(removeCall("p1.dbg")).status, 200);
  killAndRemove("p1");
}

TEST_F(ROOT_DaemonIo, ClosingTheSessionConnectionKillsAndRemovesItWithinASecond) {
  ASSERT_EQ(launchWith("p2", "exec sleep 600").status, 200);
  AgentStream s = session("p2.s", "echo started; exec sleep 600");
  ASSERT_EQ(s.status, 200) << s.body;
  Output o;
  read(s, &o, std::chrono::seconds(10), "started\n");
  ASSERT_EQ(o.out, "started\n");
  ASSERT_FALSE(entry("p2.s").is_null());
  auto closed = Clock::now();
  daemon::closeStream(s);
  while (!entry("p2.s").is_null() && Clock::now() - closed < std::chrono::seconds(5)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - closed);
  EXPECT_TRUE(entry("p2.s").is_null());
  EXPECT_LE(took.count(), 1000) << "session removed " << took.count() << " ms after its connection closed";
  EXPECT_EQ(entry("p2")["state"], "RUNNING");  // its parent is untouched
  killAndRemove("p2");
}

TEST_F(ROOT_DaemonIo, TwoOutputAttachesBothSeeAllOfIt) {
  ASSERT_EQ(launchWith("o1", "read go; i=0; while [ $i -lt 300 ]; do echo line$i; i=$((i+1)); done; echo err >&2",
                       {{"open_stdin", true}})
                .status,
            200);
  AgentStream a = attachOutput("o1");
  AgentStream b = attachOutput("o1");
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(b.status, 200) << b.body;
  AgentStream in = attachInput("o1");
  ASSERT_TRUE(sendStdin(in, "go\n"));
  ASSERT_TRUE(sendStdin(in, ""));  // EOF
  ASSERT_TRUE(daemon::finishInput(in));
  EXPECT_EQ(in.status, 200) << in.body;
  std::string expected;
  for (int i = 0; i < 300; ++i) expected += "line" + std::to_string(i) + "\n";
  Output oa, ob;
  read(a, &oa, std::chrono::seconds(20));
  read(b, &ob, std::chrono::seconds(20));
  EXPECT_TRUE(oa.ended);
  EXPECT_TRUE(ob.ended);
  EXPECT_EQ(oa.out, expected);
  EXPECT_EQ(ob.out, expected);
  EXPECT_EQ(oa.err, "err\n");
  EXPECT_EQ(ob.err, "err\n");
  daemon::closeStream(a);
  daemon::closeStream(b);
  EXPECT_EQ(termination(d_->call(waitCall("o1")))["exit_status"], 0);
  EXPECT_EQ(sandboxFile("o1", "stdout"), expected);
  EXPECT_EQ(sandboxFile("o1", "stderr"), "err\n");
  EXPECT_EQ(d_->call(removeCall("o1")).status, 200);
}

TEST_F(ROOT_DaemonIo, ThreeMegabytesThroughStdinToStdoutAreByteExact) {
  ASSERT_EQ(launchWith("b1", "exec cat", {{"open_stdin", true}}).status, 200);
  AgentStream out = attachOutput("b1");
  ASSERT_EQ(out.status, 200) << out.body;
  std::string data(3 * 1000 * 1000, '\0');
  std::mt19937 rng(15);
  for (auto& c : data) c = static_cast<char>(rng());
  Output o;
  std::thread reader([&] { read(out, &o, std::chrono::seconds(60)); });
  AgentStream in = attachInput("b1");
  for (size_t off = 0; off < data.size(); off += 100000) {
    ASSERT_TRUE(sendStdin(in, data.substr(off, 100000)));
  }
  ASSERT_TRUE(sendStdin(in, ""));
  ASSERT_TRUE(daemon::finishInput(in, std::chrono::seconds(60)));
  EXPECT_EQ(in.status, 200) << in.body;
  reader.join();
  EXPECT_TRUE(o.ended);
  EXPECT_EQ(o.out.size(), data.size());
  EXPECT_TRUE(o.out == data) << "stdout differs from stdin";
  daemon::closeStream(out);
  EXPECT_EQ(termination(d_->call(waitCall("b1")))["exit_status"], 0);
  EXPECT_TRUE(sandboxFile("b1", "stdout") == data) << "the log differs from stdin";
  EXPECT_EQ(d_->call(removeCall("b1")).status, 200);
}

TEST_F(ROOT_DaemonIo, OutputWhileWarrendWasDownIsLoggedAndAttachWorksAfterItsRestart) {
  ASSERT_EQ(launchWith("w1", "i=0; while true; do echo tick$i; i=$((i+1)); sleep 0.05; done").status, 200);
  AgentStream a = attachOutput("w1");
  ASSERT_EQ(a.status, 200) << a.body;
  Output o;
  read(a, &o, std::chrono::seconds(10), "tick3\n");
  d_->kill9();
  // The stream ends with warrend; the container goes on writing its log.
  read(a, &o, std::chrono::seconds(5));
  daemon::closeStream(a);
  size_t before = sandboxFile("w1", "stdout").size();
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  size_t during = sandboxFile("w1", "stdout").size();
  EXPECT_GT(during, before) << "nothing was logged while warrend was down";
  d_->start();
  AgentStream b = attachOutput("w1");
  ASSERT_EQ(b.status, 200) << b.body;
  Output ob;
  read(b, &ob, std::chrono::seconds(10), "\n");
  EXPECT_NE(ob.out.find("tick"), std::string::npos) << ob.out;
  daemon::closeStream(b);
  // Every line is in the log, in order, none lost (on a loaded machine the
  // 50 ms ticks may need a moment more to pass 20).
  auto lineCount = [&] {
    std::string s = sandboxFile("w1", "stdout");
    return std::count(s.begin(), s.end(), '\n');
  };
  for (int i = 0; i < 100 && lineCount() <= 20; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::string log = sandboxFile("w1", "stdout");
  std::istringstream lines(log);
  std::string line;
  int n = 0;
  while (std::getline(lines, line)) {
    ASSERT_EQ(line, "tick" + std::to_string(n)) << "line " << n;
    ++n;
  }
  EXPECT_GT(n, 20);
  killAndRemove("w1");
}

TEST_F(ROOT_DaemonIo, TtyShellEchoesWhatIsTypedAndSeesAWindowResize) {
  Json c = launchCall("t1", "exec sh", rootfs_);
  c["launch_container"]["container"] = {{"type", "MESOS"},
                                        {"tty_info", {{"window_size", {{"rows", 30}, {"columns", 100}}}}}};
  ASSERT_EQ(d_->call(c).status, 200);
  AgentStream out = attachOutput("t1");
  ASSERT_EQ(out.status, 200) << out.body;
  AgentStream in = attachInput("t1");
  ASSERT_TRUE(sendStdin(in, "stty size; tty\n"));
  Output o;
  read(out, &o, std::chrono::seconds(10), "30 100\r\n");
  EXPECT_NE(o.out.find("30 100\r\n"), std::string::npos) << o.out;  // \r\n: a terminal's output
  read(out, &o, std::chrono::seconds(10), "/dev/pts/");
  EXPECT_NE(o.out.find("/dev/pts/"), std::string::npos) << o.out;
  ASSERT_TRUE(sendWindow(in, 40, 120));
  ASSERT_TRUE(sendStdin(in, "stty size\n"));
  read(out, &o, std::chrono::seconds(10), "40 120\r\n");
  EXPECT_NE(o.out.find("40 120\r\n"), std::string::npos) << o.out;
  ASSERT_TRUE(sendStdin(in, "echo he''llo-there\n"));
  read(out, &o, std::chrono::seconds(10), "hello-there\r\n");
  EXPECT_NE(o.out.find("echo he''llo-there"), std::string::npos) << o.out;  // the terminal echoed it
  EXPECT_NE(o.out.find("\nhello-there\r\n"), std::string::npos) << o.out;
  ASSERT_TRUE(sendStdin(in, "exit 7\n"));
  ASSERT_TRUE(daemon::finishInput(in));
  read(out, &o, std::chrono::seconds(10));
  EXPECT_TRUE(o.ended);
  daemon::closeStream(out);
  EXPECT_EQ(termination(d_->call(waitCall("t1")))["exit_status"], 7 << 8);  // exit status still recorded
  EXPECT_EQ(d_->call(removeCall("t1")).status, 200);
}

TEST_F(ROOT_DaemonIo, BadAttachesAreRefusedWithTheirStatus) {
  AgentStream s = attachOutput("nope");
  EXPECT_EQ(s.status, 404) << s.body;
  EXPECT_NE(s.body.find("nope"), std::string::npos) << s.body;
  AgentStream i = attachInput("nope");
  ASSERT_TRUE(daemon::finishInput(i));
  EXPECT_EQ(i.status, 404) << i.body;

  ASSERT_EQ(launchWith("n1", "exec sleep 600").status, 200);  // no stdin
  i = attachInput("n1");
  ASSERT_TRUE(daemon::finishInput(i));
  EXPECT_EQ(i.status, 400) << i.body;
  EXPECT_NE(i.body.find("has no stdin"), std::string::npos) << i.body;

  ASSERT_EQ(launchWith("n2", "exec cat", {{"open_stdin", true}}).status, 200);
  AgentStream first = attachInput("n2");
  ASSERT_TRUE(sendStdin(first, "x\n"));  // the first attach is in place
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  i = attachInput("n2");
  ASSERT_TRUE(daemon::finishInput(i));
  EXPECT_EQ(i.status, 409) << i.body;
  ASSERT_TRUE(daemon::finishInput(first));
  EXPECT_EQ(first.status, 200) << first.body;
  // Once the first left, another may attach.
  i = attachInput("n2");
  ASSERT_TRUE(sendStdin(i, ""));
  ASSERT_TRUE(daemon::finishInput(i));
  EXPECT_EQ(i.status, 200) << i.body;
  EXPECT_EQ(termination(d_->call(waitCall("n2")))["exit_status"], 0);  // cat saw EOF
  EXPECT_EQ(sandboxFile("n2", "stdout"), "x\n");

  // Input as a plain JSON call: it must be streamed.
  Json c = {{"type", "ATTACH_CONTAINER_INPUT"},
            {"attach_container_input", {{"type", "CONTAINER_ID"}, {"container_id", cid("n1")}}}};
  auto r = d_->call(c);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(d_->call(removeCall("n2")).status, 200);
  killAndRemove("n1");
}

TEST_F(ROOT_DaemonIo, InputToACommandThatClosedItsStdinLeavesTheContainerRunning) {
  // Nested, sharing its parent's pid namespace: its warren-init is not a
  // pid 1 that the kernel would shield from its own SIGPIPE.
  ASSERT_EQ(launchWith("c0", "exec sleep 600").status, 200);
  Json call = launchCall("c0.c1", "exec 0<&-; echo closed; exec sleep 600", "");
  call["launch_nested_container"]["warren"]["config"] = {{"open_stdin", true}, {"share_pid_namespace", true}};
  ASSERT_EQ(d_->call(call).status, 200);
  AgentStream out = attachOutput("c0.c1");
  Output o;
  read(out, &o, std::chrono::seconds(10), "closed\n");
  ASSERT_EQ(o.out, "closed\n");
  AgentStream in = attachInput("c0.c1");
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(sendStdin(in, std::string(100000, 'x')));
  ASSERT_TRUE(daemon::finishInput(in));
  EXPECT_EQ(in.status, 200) << in.body;
  daemon::closeStream(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(entry("c0.c1")["state"], "RUNNING");  // warren-init did not die of SIGPIPE
  d_->call(killCall("c0.c1"));
  auto w = termination(d_->call(waitCall("c0.c1")));
  EXPECT_EQ(w["termination"]["reason"], "KILLED") << w.dump();
  EXPECT_EQ(d_->call(removeCall("c0.c1")).status, 200);
  killAndRemove("c0");
}

TEST_F(ROOT_DaemonIo, InputAsOneBodyWithContentLengthWorksToo) {
  ASSERT_EQ(launchWith("l1", "exec cat", {{"open_stdin", true}}).status, 200);
  auto rec = [](const Json& j) {
    std::string m = j.dump();
    return std::to_string(m.size()) + "\n" + m;
  };
  auto data = [](const std::string& b64) {
    return Json{{"type", "ATTACH_CONTAINER_INPUT"},
                {"attach_container_input",
                 {{"type", "PROCESS_IO"},
                  {"process_io", {{"type", "DATA"}, {"data", {{"type", "STDIN"}, {"data", b64}}}}}}}};
  };
  std::string body = rec({{"type", "ATTACH_CONTAINER_INPUT"},
                          {"attach_container_input", {{"type", "CONTAINER_ID"}, {"container_id", cid("l1")}}}}) +
                     rec(data("aGkK")) + rec(data(""));  // "hi\n", then EOF
  auto r = daemon::callAgent(d_->socket(), body, std::chrono::seconds(30), "application/recordio");
  EXPECT_EQ(r.status, 200) << r.body << r.error;
  EXPECT_EQ(termination(d_->call(waitCall("l1")))["exit_status"], 0);
  EXPECT_EQ(sandboxFile("l1", "stdout"), "hi\n");
  EXPECT_EQ(d_->call(removeCall("l1")).status, 200);
}

TEST_F(ROOT_DaemonIo, AReaderThatStopsReadingNeverBlocksTheContainerAndTheLogKeepsAll) {
  // 20 MB: past the 16 MiB cap, so the log is rotated once (stdout.1 + stdout).
  ASSERT_EQ(launchWith("s1", "sleep 1; head -c 20000000 /dev/zero").status, 200);
  AgentStream stalled = attachOutput("s1");  // never read
  ASSERT_EQ(stalled.status, 200) << stalled.body;
  auto w = d_->call(waitCall("s1"));
  EXPECT_EQ(termination(w)["exit_status"], 0) << w.body;
  daemon::closeStream(stalled);
  struct stat a {}, b {};
  ASSERT_EQ(::stat((env_.work_dir + "/sandboxes/s1/stdout.1").c_str(), &a), 0);
  ASSERT_EQ(::stat((env_.work_dir + "/sandboxes/s1/stdout").c_str(), &b), 0);
  EXPECT_EQ(a.st_size + b.st_size, 20000000);
  EXPECT_LE(a.st_size, 16 << 20);
  EXPECT_EQ(d_->call(removeCall("s1")).status, 200);
}

}  // namespace
}  // namespace warren::testing
