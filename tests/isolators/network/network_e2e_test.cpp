// End to end: the network and pid isolators under the real Containerizer,
// busybox containers, real bridge/veths. Traffic only between containers
// these tests launch; every loop is bounded.
#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "containerizer_options.hpp"
#include "network_config.hpp"
#include "test_env.hpp"
#include "warren/containerizer.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {


std::string e2eBridge() { return "wte" + std::to_string(getpid() % 10000000); }
std::string e2eCidr() { return "10.214." + std::to_string(getpid() % 250) + ".0/24"; }

class NetworkE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isRoot()) GTEST_SKIP() << "skipped: needs root";
    rootfs_ = TestEnv::busyboxRootfs();
  }
  void TearDown() override {
    c_.reset();
    // the bridge is shared infrastructure: the tests that made it remove it
    if (linkExistsHere(e2eBridge())) {
      runCmd({"busybox", "ip", "link", "del", e2eBridge()});
    }
    EXPECT_FALSE(linkExistsHere(e2eBridge()));
  }
  static bool linkExistsHere(const std::string& n) { return fs::exists("/sys/class/net/" + n); }

  std::unique_ptr<Containerizer> make() {
    Options o = testOptions(env_, {"pid", "network"});
    o.plugin_flags = {{"network_bridge", e2eBridge()}, {"network_cidr", e2eCidr()}};
    auto c = Containerizer::create(o);
    EXPECT_TRUE(c) << (c ? "" : c.error().message());
    return c ? std::move(*c) : nullptr;
  }
  v1::ContainerConfig shell(const std::string& script, const std::string& mode = "") {
    v1::ContainerConfig c;
    c.set_rootfs(rootfs_);
    c.mutable_command()->set_value("/bin/sh");
    c.mutable_command()->add_arguments("-c");
    c.mutable_command()->add_arguments(script);
    c.set_network_mode(mode);
    return c;
  }
  static v1::ContainerID id(const std::string& s) { return *parseId(s); }
  // The container's stdout: live from its sandbox, or as captured by
  // finish() before destroy removed the sandbox.
  std::string out(const std::string& cid) {
    if (auto it = outputs_.find(cid); it != outputs_.end()) return it->second;
    auto t = fs::readFile(sandbox(cid) + "/stdout");
    auto e = fs::readFile(sandbox(cid) + "/stderr");
    return (t ? *t : "") + (e ? *e : "");
  }
  std::string sandbox(const std::string& cid) {
    auto parsed = id(cid);
    std::string p = env_.work_dir + "/sandboxes/" + parsed.path(0);
    for (int i = 1; i < parsed.path_size(); ++i) p += "/containers/" + parsed.path(i);
    return p;
  }
  std::string ipOf(const std::string& cid) {
    auto st = c_->status(id(cid));
    EXPECT_TRUE(st) << st.error().message();
    return st && st->ip_addresses_size() == 1 ? st->ip_addresses(0) : "";
  }
  // Launch, wait (bounded), and return the exit code.
  int finish(const std::string& cid) {
    auto t = c_->wait(id(cid), std::chrono::seconds(30));
    EXPECT_TRUE(t) << t.error().message();
    outputs_[cid] = out(cid);
    auto d = c_->destroy(id(cid));
    EXPECT_TRUE(d) << d.error().message();
    return t && t->has_exit_status() ? t->exit_code() : -1;
  }
  void launch(const std::string& cid, const v1::ContainerConfig& cfg) {
    auto st = c_->launch(id(cid), cfg);
    ASSERT_TRUE(st) << st.error().message();
  }

  TestEnv env_;
  std::string rootfs_;
  std::string veth(const std::string& id) const {
    return isolators::network::vethName(env_.work_dir + "/plugins/network", id);
  }
  std::unique_ptr<Containerizer> c_;
  std::map<std::string, std::string> outputs_;
};

// A listener for one connection. busybox nc exits on EOF of its own stdin,
// which can race the incoming data: -e hands the connection to `cat`, which
// copies it to the container's stderr.
std::string listenScript(const std::string& port) {
  return "timeout 20 nc -l -p " + port + " -e sh -c 'cat >&2'";
}

// A sender that retries (bounded) until the listener is up.
std::string sendScript(const std::string& addr, const std::string& port, const std::string& msg) {
  return "i=0; while [ $i -lt 100 ]; do echo " + msg + " | nc -w 2 " + addr + " " + port +
         " && exit 0; i=$((i+1)); sleep 0.1; done; exit 1";
}

TEST_F(NetworkE2E, ROOT_TwoBridgedContainersExchangeTcp) {
  c_ = make();
  ASSERT_TRUE(c_);
  ASSERT_NO_FATAL_FAILURE(launch("srv", shell("hostname; cat /etc/hosts; " + listenScript("7010"))));
  const std::string ip = ipOf("srv");
  ASSERT_FALSE(ip.empty());
  ASSERT_NO_FATAL_FAILURE(launch("cli", shell(sendScript(ip, "7010", "hello-over-bridge"))));
  EXPECT_TRUE(linkExistsHere(veth("srv")));
  auto st = c_->status(id("srv"));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->labels().at("network.veth"), veth("srv"));
  EXPECT_EQ(st->labels().at("network.bridge"), e2eBridge());
  EXPECT_EQ(finish("cli"), 0);
  EXPECT_EQ(finish("srv"), 0);
  std::string got = out("srv");
  EXPECT_NE(got.find("srv\n"), std::string::npos) << got;  // its own hostname
  EXPECT_NE(got.find(ip + "\tsrv"), std::string::npos) << got;
  EXPECT_NE(got.find("hello-over-bridge"), std::string::npos) << got;
  EXPECT_FALSE(linkExistsHere(veth("srv")));
  EXPECT_FALSE(linkExistsHere(veth("cli")));
}

TEST_F(NetworkE2E, ROOT_PodSiblingsTalkOverLoopbackInTheParentNamespace) {
  c_ = make();
  ASSERT_TRUE(c_);
  ASSERT_NO_FATAL_FAILURE(launch("pod", shell("readlink /proc/self/ns/net; sleep 60")));
  ASSERT_NO_FATAL_FAILURE(
      launch("pod.srv", shell("readlink /proc/self/ns/net; " + listenScript("7011"))));
  ASSERT_NO_FATAL_FAILURE(launch(
      "pod.cli", shell("readlink /proc/self/ns/net; " + sendScript("127.0.0.1", "7011", "sibling"))));
  EXPECT_EQ(finish("pod.cli"), 0);
  EXPECT_EQ(finish("pod.srv"), 0);
  EXPECT_NE(out("pod.srv").find("sibling"), std::string::npos) << out("pod.srv");
  // The same network namespace in all three: none was created for a child.
  auto first = [](const std::string& s) { return s.substr(0, s.find('\n')); };
  EXPECT_FALSE(first(out("pod")).empty());
  EXPECT_EQ(first(out("pod.srv")), first(out("pod")));
  EXPECT_EQ(first(out("pod.cli")), first(out("pod")));
  EXPECT_EQ(ipOf("pod").empty(), false);
  auto d = c_->destroy(id("pod"));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_FALSE(linkExistsHere(veth("pod")));
}

// Issue #18: a nested container may ask for a network namespace of its own
// instead of joining its parent's: "none" sees only lo while its bridged
// parent has its eth0; "bridge" gets its own veth and address, and talks to
// its parent over the bridge. Both go with their own destroy.
TEST_F(NetworkE2E, ROOT_NestedChildWithANetworkOfItsOwn) {
  c_ = make();
  ASSERT_TRUE(c_);
  ASSERT_NO_FATAL_FAILURE(launch("pod", shell("readlink /proc/self/ns/net; cat /proc/net/dev; " +
                                              listenScript("7015") + "; sleep 60", "bridge")));
  ASSERT_NO_FATAL_FAILURE(
      launch("pod.alone", shell("readlink /proc/self/ns/net; cat /proc/net/dev; hostname", "none")));
  EXPECT_EQ(finish("pod.alone"), 0);
  const std::string pod_ip = ipOf("pod");
  ASSERT_FALSE(pod_ip.empty());
  ASSERT_NO_FATAL_FAILURE(launch("pod.own", shell("readlink /proc/self/ns/net; ip -o -4 addr show eth0; " +
                                                  sendScript(pod_ip, "7015", "from-nested-child"), "bridge")));
  const std::string own_ip = ipOf("pod.own");
  EXPECT_FALSE(own_ip.empty());
  EXPECT_NE(own_ip, pod_ip);
  EXPECT_TRUE(linkExistsHere(veth("pod.own")));
  EXPECT_EQ(finish("pod.own"), 0);
  EXPECT_FALSE(linkExistsHere(veth("pod.own")));  // its own destroy removed it
  // Its listener got the child's message over the bridge.
  EXPECT_TRUE(eventually([&] { return out("pod").find("from-nested-child") != std::string::npos; }))
      << out("pod");
  std::string pod = out("pod"), alone = out("pod.alone"), own = out("pod.own");
  auto d = c_->destroy(id("pod"));
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_FALSE(linkExistsHere(veth("pod")));
  auto first = [](const std::string& t) { return t.substr(0, t.find('\n')); };
  EXPECT_NE(first(alone), first(pod)) << "a namespace of its own";
  EXPECT_NE(first(own), first(pod));
  EXPECT_NE(pod.find("eth0:"), std::string::npos) << pod;
  EXPECT_NE(alone.find("lo:"), std::string::npos) << alone;
  EXPECT_EQ(alone.find("eth0"), std::string::npos) << alone;  // only lo
  EXPECT_NE(alone.find("\npod\n"), std::string::npos) << "its parent's UTS namespace: " << alone;
  EXPECT_NE(own.find(own_ip + "/"), std::string::npos) << own;
}

TEST_F(NetworkE2E, ROOT_NoneHasOnlyLoopbackAndHostSeesHostLinks) {
  c_ = make();
  ASSERT_TRUE(c_);
  ASSERT_NO_FATAL_FAILURE(launch("none1", shell("ip -o link", "none")));
  EXPECT_EQ(finish("none1"), 0);
  std::string none = out("none1");
  EXPECT_EQ(std::count(none.begin(), none.end(), '\n'), 1) << none;
  EXPECT_NE(none.find("1: lo: <LOOPBACK,UP"), std::string::npos) << none;

  auto names = [] {
    std::set<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator("/sys/class/net")) {
      out.insert(e.path().filename());
    }
    return out;
  };
  const auto before = names();
  ASSERT_NO_FATAL_FAILURE(launch("host1", shell("ip -o link", "host")));
  EXPECT_EQ(finish("host1"), 0);
  const auto after = names();
  const std::string host = out("host1");
  int seen = 0;
  for (const auto& n : before) {
    if (!after.count(n)) continue;  // another test's link came and went
    EXPECT_NE(host.find(": " + n), std::string::npos) << n << " missing in\n" << host;
    ++seen;
  }
  EXPECT_GE(seen, 2);  // at least lo and the host's uplink
}

TEST_F(NetworkE2E, ROOT_DestroyRemovesTheVethAndTheAddressIsReused) {
  c_ = make();
  ASSERT_TRUE(c_);
  ASSERT_NO_FATAL_FAILURE(launch("a", shell("sleep 60")));
  const std::string ip = ipOf("a");
  ASSERT_FALSE(ip.empty());
  ASSERT_TRUE(linkExistsHere(veth("a")));
  ASSERT_TRUE(c_->destroy(id("a")));
  EXPECT_FALSE(linkExistsHere(veth("a")));
  ASSERT_NO_FATAL_FAILURE(launch("b", shell("sleep 60")));
  EXPECT_EQ(ipOf("b"), ip);
  ASSERT_TRUE(c_->destroy(id("b")));
  EXPECT_FALSE(linkExistsHere(veth("b")));
}

TEST_F(NetworkE2E, ROOT_RecoveryKeepsTheAddress) {
  c_ = make();
  ASSERT_TRUE(c_);
  ASSERT_NO_FATAL_FAILURE(launch("a", shell("sleep 60")));
  const std::string ip = ipOf("a");
  ASSERT_FALSE(ip.empty());
  c_.reset();  // "restart"
  c_ = make();
  ASSERT_TRUE(c_);
  auto r = c_->recover();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(ipOf("a"), ip);
  EXPECT_TRUE(linkExistsHere(veth("a")));
  ASSERT_NO_FATAL_FAILURE(launch("b", shell("sleep 60")));
  EXPECT_NE(ipOf("b"), ip);  // not handed out twice
  ASSERT_TRUE(c_->destroy(id("a")));
  ASSERT_TRUE(c_->destroy(id("b")));
  EXPECT_FALSE(linkExistsHere(veth("a")));
}

}  // namespace
}  // namespace warren::testing
