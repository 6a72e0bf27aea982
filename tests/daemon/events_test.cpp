// SUBSCRIBE: the lifecycle event stream. Exact sequences per container
// (launched, running, limitation, terminated with the supervisor's record,
// destroyed), and a container caller sees only its own subtree.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <sstream>

#include "daemon_test_base.hpp"
#include "stream_client.hpp"

namespace warren::testing {
namespace {

std::string dotted(const Json& id) {
  if (!id.is_object()) return "";
  std::string s = id.value("value", "");
  for (Json p = id; p.contains("parent"); p = p["parent"]) s = std::string(p["parent"]["value"]) + "." + s;
  return s;
}

// "ID TYPE" for a container event, "TYPE" otherwise.
std::string brief(const Json& e) {
  std::string id = dotted(e.value("container_id", Json()));
  return id.empty() ? std::string(e.value("type", "?")) : id + " " + std::string(e.value("type", "?"));
}

class Events {
 public:
  Events(const std::string& socket, const Json& call = {{"type", "SUBSCRIBE"}, {"subscribe", Json::object()}})
      : s_(daemon::openOutputStream(socket, call.dump())) {}
  ~Events() { daemon::closeStream(s_); }
  int status() const { return s_.status; }
  std::string body() const { return s_.body; }
  // The next event that is not a heartbeat (null on timeout / end).
  Json next(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto end = std::chrono::steady_clock::now() + timeout;
    std::string rec;
    while (std::chrono::steady_clock::now() < end) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (!daemon::nextRecord(s_, &rec, left)) return {};
      Json e = Json::parse(rec, nullptr, false);
      if (e.value("type", "") != "HEARTBEAT") return e;
    }
    return {};
  }
  // Events until (and including) one whose brief() is `last`.
  std::vector<Json> until(const std::string& last) {
    std::vector<Json> out;
    while (true) {
      Json e = next();
      if (e.is_null()) {
        ADD_FAILURE() << "no event '" << last << "' after " << briefs(out);
        return out;
      }
      out.push_back(e);
      if (brief(e) == last) return out;
    }
  }
  static std::string briefs(const std::vector<Json>& es) {
    std::string s;
    for (const auto& e : es) s += (s.empty() ? "" : ", ") + brief(e);
    return s;
  }

 private:
  daemon::AgentStream s_;
};

// Only `id`'s events, in order.
std::vector<std::string> of(const std::vector<Json>& es, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : es) {
    if (dotted(e.value("container_id", Json())) == id) out.push_back(e["type"]);
  }
  return out;
}

using Seq = std::vector<std::string>;

class ROOT_DaemonEvents : public DaemonTest {};

TEST_F(ROOT_DaemonEvents, ExactSequenceForExitKillAndParentDestroyed) {
  Events ev(d_->socket());
  ASSERT_EQ(ev.status(), 200) << ev.body();
  EXPECT_EQ(brief(ev.next()), "SUBSCRIBED");

  // Exits by itself with 3: its record is the one WAIT gives.
  ASSERT_EQ(d_->call(launchCall("a", "exit 3", rootfs_)).status, 200);
  auto es = ev.until("a TERMINATED");
  EXPECT_EQ(Events::briefs(es), "a LAUNCHED, a RUNNING, a TERMINATED");
  EXPECT_GT(es[1].value("pid", 0), 0) << es[1].dump();
  EXPECT_EQ(es[2]["termination"]["reason"], "COMMAND_EXITED") << es[2].dump();
  EXPECT_EQ(es[2]["termination"]["exit_code"], 3) << es[2].dump();
  EXPECT_EQ(es[2]["wait_result"]["exit_status"], 3 << 8) << es[2].dump();
  EXPECT_EQ(es[2]["termination"], termination(d_->call(waitCall("a")))["termination"]);
  ASSERT_EQ(d_->call(removeCall("a")).status, 200);
  EXPECT_EQ(Events::briefs(ev.until("a DESTROYED")), "a DESTROYED");

  // Killed through the API, with a nested child that goes with it.
  ASSERT_EQ(d_->call(launchCall("b", "sleep 600", rootfs_)).status, 200);
  EXPECT_EQ(Events::briefs(ev.until("b RUNNING")), "b LAUNCHED, b RUNNING");
  ASSERT_EQ(launchNested("b.c", "sleep 600").status, 200);
  EXPECT_EQ(Events::briefs(ev.until("b.c RUNNING")), "b.c LAUNCHED, b.c RUNNING");
  ASSERT_EQ(d_->call(killCall("b")).status, 200);
  // The parent's finish records both; which record a look finds first may vary.
  std::vector<Json> ended;
  while (of(ended, "b").empty() || of(ended, "b.c").empty()) {
    Json e = ev.next();
    ASSERT_FALSE(e.is_null()) << Events::briefs(ended);
    ended.push_back(e);
  }
  EXPECT_EQ(ended.size(), 2u) << Events::briefs(ended);
  EXPECT_EQ(of(ended, "b"), Seq{"TERMINATED"});
  EXPECT_EQ(of(ended, "b.c"), Seq{"TERMINATED"});
  for (const auto& e : ended) {
    EXPECT_EQ(e["termination"]["reason"], dotted(e["container_id"]) == "b" ? "KILLED" : "PARENT_DESTROYED")
        << e.dump();
  }
  ASSERT_EQ(d_->call(removeCall("b")).status, 200);
  std::vector<Json> gone{ev.next(), ev.next()};
  EXPECT_EQ(of(gone, "b"), Seq{"DESTROYED"}) << Events::briefs(gone);
  EXPECT_EQ(of(gone, "b.c"), Seq{"DESTROYED"}) << Events::briefs(gone);

  // A forwarded signal is the command's own: a TERM trap that exits 7 ends
  // COMMAND_EXITED 7 (a plain KILL through the API would make it KILLED).
  ASSERT_EQ(d_->call(launchCall("t", "trap 'exit 7' TERM; while true; do sleep 0.05; done", rootfs_)).status, 200);
  EXPECT_EQ(Events::briefs(ev.until("t RUNNING")), "t LAUNCHED, t RUNNING");
  Json fwd = killCall("t", SIGTERM);
  fwd["kill_container"]["forwarded"] = true;
  ASSERT_EQ(d_->call(fwd).status, 200);
  es = ev.until("t TERMINATED");
  EXPECT_EQ(Events::briefs(es), "t TERMINATED");
  EXPECT_EQ(es.back()["termination"]["reason"], "COMMAND_EXITED") << es.back().dump();
  EXPECT_EQ(es.back()["termination"]["exit_code"], 7) << es.back().dump();
}

TEST_F(ROOT_DaemonEvents, FiltersByIdAndParent) {
  Json byId = {{"type", "SUBSCRIBE"}, {"subscribe", {{"container_ids", Json::array({cid("p.x")})}}}};
  Json byParent = {{"type", "SUBSCRIBE"}, {"subscribe", {{"parent", cid("p")}}}};
  Events one(d_->socket(), byId), under(d_->socket(), byParent);
  ASSERT_EQ(brief(one.next()), "SUBSCRIBED");
  ASSERT_EQ(brief(under.next()), "SUBSCRIBED");
  ASSERT_EQ(d_->call(launchCall("p", "sleep 600", rootfs_)).status, 200);
  ASSERT_EQ(launchNested("p.x", "exit 0").status, 200);
  ASSERT_EQ(launchNested("p.y", "exit 0").status, 200);
  ASSERT_EQ(termination(d_->call(waitCall("p.y")))["exit_status"], 0);
  ASSERT_EQ(termination(d_->call(waitCall("p.x")))["exit_status"], 0);
  EXPECT_EQ(Events::briefs(one.until("p.x TERMINATED")), "p.x LAUNCHED, p.x RUNNING, p.x TERMINATED");
  auto es = under.until("p.y TERMINATED");
  while (of(es, "p.x").size() < 3) {
    Json e = under.next();
    ASSERT_FALSE(e.is_null()) << Events::briefs(es);
    es.push_back(e);
  }
  EXPECT_TRUE(of(es, "p").empty()) << "the parent itself is not its own descendant: " << Events::briefs(es);
  EXPECT_EQ(of(es, "p.x"), (Seq{"LAUNCHED", "RUNNING", "TERMINATED"}));
  EXPECT_EQ(of(es, "p.y"), (Seq{"LAUNCHED", "RUNNING", "TERMINATED"}));
  // An unknown call field is refused as any other malformed body.
  EXPECT_EQ(d_->call({{"type", "SUBSCRIBE"}, {"subscribe", {{"nope", 1}}}}).status, 400);
}

class ROOT_DaemonEventsOom : public DaemonTest {
 protected:
  std::vector<std::string> isolation() const override { return {"filesystem/linux", "pid", "volumes", "cgroups"}; }
};

TEST_F(ROOT_DaemonEventsOom, MemoryLimitIsALimitationThenTheTermination) {
  Events ev(d_->socket());
  ASSERT_EQ(brief(ev.next()), "SUBSCRIBED");
  Json call = launchCall("m", "dd if=/dev/zero of=/dev/null bs=64M count=1", rootfs_);
  call["launch_container"]["warren"]["config"]["resources"] = {{"mem_bytes", 32 << 20}};
  auto r = d_->call(call);
  ASSERT_EQ(r.status, 200) << r.body;
  auto es = ev.until("m TERMINATED");
  ASSERT_EQ(Events::briefs(es), "m LAUNCHED, m RUNNING, m LIMITATION, m TERMINATED");
  EXPECT_EQ(es[2]["limitation"]["reason"], "MEMORY") << es[2].dump();
  EXPECT_EQ(es[2]["limitation"]["isolator"], "cgroups") << es[2].dump();
  EXPECT_EQ(es[3]["termination"]["reason"], "MEMORY_LIMIT") << es[3].dump();
}

class ROOT_DaemonEventsExecutor : public DaemonTest {};

TEST_F(ROOT_DaemonEventsExecutor, AContainerSeesOnlyItsOwnSubtree) {
  ASSERT_EQ(d_->call(launchCall("other", "sleep 600", rootfs_)).status, 200);
  std::string root = env_.makeRootfs("ex");
  std::filesystem::copy_file(AGENT_CALL_PATH, root + "/agent_call");
  ::chmod((root + "/agent_call").c_str(), 0755);
  auto q = [](const std::string& s) {
    std::string out = "'";
    for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
  };
  std::string sub = Json{{"type", "SUBSCRIBE"}, {"subscribe", Json::object()}}.dump();
  std::string subOther =
      Json{{"type", "SUBSCRIBE"}, {"subscribe", {{"container_ids", Json::array({cid("other")})}}}}.dump();
  auto ref = [](const char* type, const char* field, const std::string& id) {
    return Json{{"type", type}, {field, {{"container_id", cid(id)}}}}.dump();
  };
  std::string launchK = Json{{"type", "LAUNCH_NESTED_CONTAINER"},
                             {"launch_nested_container", {{"container_id", cid("ex.k")}, {"command", {{"value", "exit 4"}}}}}}
                            .dump();
  std::string script =
      "S=\"$WARREN_AGENT_SOCKET\"\n"
      "echo \"X $(/agent_call --stream \"$S\" " + q(subOther) + " x 1)\"\n"
      "/agent_call --stream \"$S\" " + q(sub) + " DESTROYED 60 > /ev &\n"
      "i=0; until grep -q SUBSCRIBED /ev 2>/dev/null; do sleep 0.05; i=$((i+1)); [ $i -gt 400 ] && exit 9; done\n"
      "touch /subscribed\n"
      "i=0; until [ -e /go ]; do sleep 0.05; i=$((i+1)); [ $i -gt 600 ] && exit 8; done\n"
      "/agent_call \"$S\" " + q(launchK) + "\n"
      "/agent_call \"$S\" " + q(ref("WAIT_NESTED_CONTAINER", "wait_nested_container", "ex.k")) + "\n"
      "/agent_call \"$S\" " + q(ref("REMOVE_NESTED_CONTAINER", "remove_nested_container", "ex.k")) + "\n"
      "wait\n"
      "sed 's/^/E /' /ev\n";
  Json launch = launchCall("ex", script, root, /*agent_api=*/true);
  launch["launch_container"]["warren"]["config"]["rootfs_writable"] = true;  // /subscribed, /go through it
  auto r = d_->call(launch);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(eventually([&] { return fs::exists(root + "/subscribed"); }, std::chrono::seconds(20)));
  // Meanwhile, outside its subtree: a sibling, and a child of another container.
  ASSERT_EQ(d_->call(launchCall("sib", "exit 0", rootfs_)).status, 200);
  ASSERT_EQ(launchNested("other.kid", "exit 0").status, 200);
  termination(d_->call(waitCall("sib")));
  termination(d_->call(waitCall("other.kid")));
  ASSERT_EQ(d_->call(removeCall("sib")).status, 200);
  ASSERT_TRUE(fs::writeFile(root + "/go", "1"));
  auto w = termination(d_->call(waitCall("ex")));
  auto out = fs::readFile(env_.work_dir + "/sandboxes/ex/stdout");
  ASSERT_TRUE(out);
  EXPECT_EQ(w["exit_status"], 0) << *out;
  std::vector<Json> seen;
  std::istringstream in(*out);
  std::string line;
  std::string x;
  while (std::getline(in, line)) {
    if (line.rfind("X ", 0) == 0) x = line.substr(2);
    if (line.rfind("E {", 0) == 0) seen.push_back(Json::parse(line.substr(2), nullptr, false));
  }
  EXPECT_EQ(x.substr(0, 3), "403") << *out;
  EXPECT_NE(x.find("container 'ex'"), std::string::npos) << *out;
  std::vector<Json> events;
  for (const auto& e : seen) {
    if (e.value("type", "") != "HEARTBEAT") events.push_back(e);
  }
  EXPECT_EQ(Events::briefs(events), "SUBSCRIBED, ex.k LAUNCHED, ex.k RUNNING, ex.k TERMINATED, ex.k DESTROYED")
      << *out;
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[3]["termination"]["exit_code"], 4);
}

}  // namespace
}  // namespace warren::testing
