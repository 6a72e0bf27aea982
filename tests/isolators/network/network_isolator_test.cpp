// The network isolator loaded through the real plugin host. ROOT_ tests
// drive prepare/isolate/cleanup/recover against real network namespaces
// (held by stand-in processes), real veths and a per-process test bridge
// (wtn<pid>), and send TCP traffic only between namespaces they made.
#include <algorithm>
#include <dirent.h>

#include <future>
#include <set>

#include <gtest/gtest.h>

#include "net_fixture.hpp"
#include "network_config.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {


std::vector<std::string> bridgePorts(const std::string& bridge) {
  std::vector<std::string> out;
  DIR* d = opendir(("/sys/class/net/" + bridge + "/brif").c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  }
  closedir(d);
  return out;
}

class NetworkIsolator : public ::testing::Test {
 protected:
  TestEnv env;
  std::string bridge = testBridge();

  // The host end of a container's veth: the plugin's work dir is the scope
  // (<work_dir>/plugins/<short name>, as the plugin host lays it out).
  std::string veth(const std::string& id) const {
    return isolators::network::vethName(env.work_dir + "/plugins/network", id);
  }

  std::map<std::string, std::string> bridgeFlags(int prefix = 24) {
    return {{"network_bridge", bridge}, {"network_cidr", testCidr(prefix)}};
  }
  void TearDown() override {
    // Leave nothing behind even when an assertion failed half-way.
    for (const auto& port : bridgePorts(bridge)) removeLink(port);
    removeLink(bridge);
    EXPECT_FALSE(linkExists(bridge));
  }
  std::string ipOf(NetPlugin& net, const v1::ContainerID& id) {
    auto st = net.status(id);
    EXPECT_TRUE(st) << st.error().message();
    return st && st->ip_addresses_size() == 1 ? st->ip_addresses(0) : std::string();
  }
};

// One message over TCP from the namespace at `from` to `to_addr`, received
// by a listener in the namespace at `to`. Bounded: the listener has a
// deadline and the sender retries at most 100 times.
std::string sendTcp(const std::string& from, const std::string& to, const std::string& to_addr,
                    const std::string& port, const std::string& message) {
  // busybox nc exits on EOF of its own stdin (/dev/null here), which can
  // race the incoming data: -e hands the connection to `cat` instead, which
  // copies it to stderr.
  auto server = std::async(std::launch::async, [&] {
    return inNetns(to, {"busybox", "nc", "-l", "-p", port, "-e", "busybox", "sh", "-c", "cat >&2"},
                   std::chrono::seconds(20));
  });
  for (int i = 0; i < 100; ++i) {
    auto r = inNetns(from, {"busybox", "sh", "-c",
                            "echo " + message + " | busybox nc -w 2 " + to_addr + " " + port},
                     std::chrono::seconds(5));
    if (r.exit_code == 0) break;
    usleep(100 * 1000);
  }
  return server.get().err;
}

// ------------------------------------------------------------ bad input (no root)

TEST(NetworkIsolatorConfig, BadConfigIsRefusedAtLoad) {
  TestEnv env;
  NetPlugin unknown_field(env, {}, R"({"bridgee": "x"})");
  EXPECT_FALSE(unknown_field);
  EXPECT_NE(unknown_field.error().find("network isolator: invalid config"), std::string::npos)
      << unknown_field.error();
  NetPlugin bad_cidr(env, {{"network_cidr", "10.213.0.0/33"}});
  EXPECT_FALSE(bad_cidr);
  EXPECT_NE(bad_cidr.error().find("invalid CIDR '10.213.0.0/33'"), std::string::npos)
      << bad_cidr.error();
  NetPlugin bad_bridge(env, {{"network_bridge", "has space"}});
  EXPECT_FALSE(bad_bridge);
  NetPlugin bad_mode(env, {}, R"({"default_mode": "overlay"})");
  EXPECT_FALSE(bad_mode);
  EXPECT_NE(bad_mode.error().find("unknown network mode 'overlay'"), std::string::npos);
}

TEST(NetworkIsolatorConfig, BadRequestsAreRefusedAndMakeNothing) {
  TestEnv env;
  NetPlugin net(env, {});  // no CIDR: default mode none
  ASSERT_TRUE(net) << net.error();
  auto info = net->info();
  EXPECT_TRUE(info.supports_nesting());
  EXPECT_TRUE(info.supports_standalone());

  auto unknown = net.prepare(topLevel(env, "c1", "overlay"));
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Code::InvalidArgument);
  EXPECT_NE(unknown.error().message().find("unknown network mode 'overlay'"), std::string::npos)
      << unknown.error().message();

  auto nocidr = net.prepare(topLevel(env, "c1", "bridge"));
  ASSERT_FALSE(nocidr);
  EXPECT_NE(nocidr.error().message().find("network mode 'bridge' needs a CIDR (--network_cidr)"),
            std::string::npos);

  auto parent = topLevel(env, "p1");
  auto child = net.prepare(nested(env, parent, 1234, "c", "host"));
  ASSERT_FALSE(child);
  EXPECT_EQ(child.error().code(), Code::InvalidArgument);
  EXPECT_NE(child.error().message().find("not allowed for a nested container"), std::string::npos);
  EXPECT_FALSE(fs::exists(env.runtime_dir + "/containers"));
}

TEST(NetworkIsolatorConfig, HostModeStaysInTheHostNamespaceWithEtcFiles) {
  TestEnv env;
  NetPlugin net(env, {});
  ASSERT_TRUE(net) << net.error();
  auto c = topLevel(env, "h1", "host");
  c.mutable_config()->set_hostname("myhost");
  auto li = net.prepare(c);
  ASSERT_TRUE(li) << li.error().message();
  EXPECT_TRUE(netEntries(*li).empty());
  EXPECT_TRUE(li->hostname().empty());  // the core sets it
  ASSERT_EQ(li->files_size(), 3);
  EXPECT_EQ(*fs::readFile(li->files().at("/etc/hostname")), "myhost\n");
  EXPECT_NE(fs::readFile(li->files().at("/etc/hosts"))->find("127.0.1.1\tmyhost"), std::string::npos);
  ASSERT_TRUE(net.cleanup(c.id(), *li));
  EXPECT_FALSE(fs::exists(li->files().at("/etc/hosts")));
  ASSERT_TRUE(net.cleanup(c.id(), *li));  // idempotent
}

// ------------------------------------------------------------ real namespaces

TEST_F(NetworkIsolator, ROOT_HostModeSeesTheHostLinks) {
  WARREN_REQUIRE_ROOT();
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto c = topLevel(env, "h1", "host");
  auto li = net.prepare(c);
  ASSERT_TRUE(li) << li.error().message();
  ASSERT_TRUE(netEntries(*li).empty());
  NsProcess init(/*new_net=*/false);  // no NET entry: the launcher leaves it in ours
  ASSERT_GT(init.pid(), 0);
  ASSERT_TRUE(net.isolate(c, init.pid()));
  auto before = linkNames();
  auto r = inNetns(init.netns(), {"busybox", "ip", "-o", "link"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto after = linkNames();
  for (const auto& name : before) {
    // Only links that existed throughout (other tests may add or remove theirs).
    if (std::find(after.begin(), after.end(), name) == after.end()) continue;
    // "2: eth0: <...>", or "9: wv1234@if2: <...>" for one end of a veth pair
    const bool listed = r.out.find(": " + name + ":") != std::string::npos ||
                        r.out.find(": " + name + "@") != std::string::npos;
    EXPECT_TRUE(listed) << name << " missing in\n" << r.out;
  }
  EXPECT_FALSE(linkExists(bridge));  // host mode makes no bridge
  EXPECT_EQ(ipOf(net, c.id()), "");
  ASSERT_TRUE(net.cleanup(c.id(), *li));
}

TEST_F(NetworkIsolator, ROOT_NoneModeHasOnlyLoopbackUp) {
  WARREN_REQUIRE_ROOT();
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto c = topLevel(env, "n1", "none");
  auto li = net.prepare(c);
  ASSERT_TRUE(li) << li.error().message();
  auto ns = netEntries(*li);
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].action(), v1::Namespace::CREATE);
  NsProcess init;
  ASSERT_GT(init.pid(), 0);
  auto iso = net.isolate(c, init.pid());
  ASSERT_TRUE(iso) << iso.error().message();
  auto r = inNetns(init.netns(), {"busybox", "ip", "-o", "link"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_NE(r.out.find("1: lo: <LOOPBACK,UP"), std::string::npos) << r.out;
  EXPECT_FALSE(linkExists(veth("n1")));
  EXPECT_EQ(ipOf(net, c.id()), "");
  ASSERT_TRUE(net.cleanup(c.id(), *li));
}

TEST_F(NetworkIsolator, ROOT_TwoBridgedContainersExchangeTcp) {
  WARREN_REQUIRE_ROOT();
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto a = topLevel(env, "a"), b = topLevel(env, "b");
  auto lia = net.prepare(a), lib = net.prepare(b);
  ASSERT_TRUE(lia) << lia.error().message();
  ASSERT_TRUE(lib) << lib.error().message();
  ASSERT_EQ(netEntries(*lia).size(), 1u);
  EXPECT_EQ(netEntries(*lia)[0].action(), v1::Namespace::CREATE);
  ASSERT_TRUE(linkExists(bridge));  // created on first use, with the gateway

  NsProcess ia, ib;
  auto ra = net.isolate(a, ia.pid());
  ASSERT_TRUE(ra) << ra.error().message();
  auto rb = net.isolate(b, ib.pid());
  ASSERT_TRUE(rb) << rb.error().message();
  EXPECT_TRUE(linkExists(veth("a")));
  EXPECT_EQ(bridgePorts(bridge).size(), 2u);

  std::string ipa = ipOf(net, a.id()), ipb = ipOf(net, b.id());
  const std::string net_prefix = testCidr().substr(0, testCidr().rfind('.') + 1);
  EXPECT_EQ(ipa, net_prefix + "2");
  EXPECT_EQ(ipb, net_prefix + "3");
  auto addr = inNetns(ia.netns(), {"busybox", "ip", "-o", "-4", "addr", "show", "eth0"});
  EXPECT_NE(addr.out.find("inet " + ipa + "/24"), std::string::npos) << addr.out;
  auto route = inNetns(ia.netns(), {"busybox", "ip", "route"});
  EXPECT_NE(route.out.find("default via " + net_prefix + "1 dev eth0"), std::string::npos) << route.out;
  EXPECT_NE(fs::readFile(lia->files().at("/etc/hosts"))->find(ipa + "\ta\n"), std::string::npos);

  EXPECT_NE(sendTcp(ib.netns(), ia.netns(), ipa, "7001", "hello-from-b").find("hello-from-b"),
            std::string::npos);
  EXPECT_NE(sendTcp(ia.netns(), ib.netns(), ipb, "7002", "hello-from-a").find("hello-from-a"),
            std::string::npos);

  ASSERT_TRUE(net.cleanup(a.id(), *lia));
  ASSERT_TRUE(net.cleanup(b.id(), *lib));
  EXPECT_FALSE(linkExists(veth("a")));
  EXPECT_FALSE(linkExists(veth("b")));
  EXPECT_TRUE(bridgePorts(bridge).empty());
  EXPECT_TRUE(linkExists(bridge));  // shared: stays
}

TEST_F(NetworkIsolator, ROOT_PodSiblingsShareTheParentNamespaceOverLoopback) {
  WARREN_REQUIRE_ROOT();
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto pod = topLevel(env, "pod");
  auto lip = net.prepare(pod);
  ASSERT_TRUE(lip) << lip.error().message();
  NsProcess init;
  ASSERT_TRUE(net.isolate(pod, init.pid()));

  auto c1 = nested(env, pod, init.pid(), "web"), c2 = nested(env, pod, init.pid(), "sidecar");
  auto li1 = net.prepare(c1), li2 = net.prepare(c2);
  ASSERT_TRUE(li1) << li1.error().message();
  ASSERT_TRUE(li2) << li2.error().message();
  for (const auto* li : {&*li1, &*li2}) {
    auto ns = netEntries(*li);
    ASSERT_EQ(ns.size(), 1u);  // no new namespace for a nested container
    EXPECT_EQ(ns[0].action(), v1::Namespace::ENTER);
    EXPECT_EQ(nsInode(ns[0].path()), nsInode(init.netns()));
  }
  ASSERT_TRUE(net.isolate(c1, init.pid()));
  ASSERT_TRUE(net.isolate(c2, init.pid()));
  // no veth for nested containers: only the pod's is on the bridge
  EXPECT_EQ(bridgePorts(bridge), std::vector<std::string>{veth("pod")});
  EXPECT_FALSE(linkExists(veth("pod.web")));
  EXPECT_EQ(ipOf(net, c1.id()), ipOf(net, pod.id()));  // they share the pod's address

  const std::string p1 = netEntries(*li1)[0].path(), p2 = netEntries(*li2)[0].path();
  EXPECT_NE(sendTcp(p2, p1, "127.0.0.1", "7003", "sibling-hello").find("sibling-hello"),
            std::string::npos);

  ASSERT_TRUE(net.cleanup(c1.id(), *li1));
  ASSERT_TRUE(net.cleanup(c2.id(), *li2));
  EXPECT_TRUE(linkExists(veth("pod")));  // the parent's stays
  ASSERT_TRUE(net.cleanup(pod.id(), *lip));
  EXPECT_FALSE(linkExists(veth("pod")));
}

TEST_F(NetworkIsolator, ROOT_CleanupAfterAbruptDeathFreesVethAndAddressForReuse) {
  WARREN_REQUIRE_ROOT();
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto a = topLevel(env, "a");
  auto lia = net.prepare(a);
  ASSERT_TRUE(lia) << lia.error().message();
  std::string ipa;
  {
    NsProcess init;
    ASSERT_TRUE(net.isolate(a, init.pid()));
    ipa = ipOf(net, a.id());
    ASSERT_FALSE(ipa.empty());
    ASSERT_TRUE(linkExists(veth("a")));
    init.kill();  // init dies abruptly
  }
  auto r = net.cleanup(a.id(), *lia);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_FALSE(linkExists(veth("a")));
  EXPECT_TRUE(bridgePorts(bridge).empty());
  EXPECT_EQ(ipOf(net, a.id()), "");

  auto b = topLevel(env, "b");
  auto lib = net.prepare(b);
  ASSERT_TRUE(lib) << lib.error().message();
  EXPECT_EQ(ipOf(net, b.id()), ipa);  // the freed address is reused
  NsProcess ib;
  ASSERT_TRUE(net.isolate(b, ib.pid()));
  ASSERT_TRUE(net.cleanup(b.id(), *lib));
  ASSERT_TRUE(net.cleanup(b.id(), *lib));  // idempotent
  EXPECT_TRUE(bridgePorts(bridge).empty());
}

TEST_F(NetworkIsolator, ROOT_RecoveryKeepsKnownAddressesAndRemovesOrphans) {
  WARREN_REQUIRE_ROOT();
  auto a = topLevel(env, "a"), orphan = topLevel(env, "orphan");
  NsProcess ia, io;
  v1::LaunchInfo lia;
  std::string ipa, ipo;
  {
    NetPlugin net(env, bridgeFlags());
    ASSERT_TRUE(net) << net.error();
    auto l1 = net.prepare(a), l2 = net.prepare(orphan);
    ASSERT_TRUE(l1 && l2);
    lia = *l1;
    ASSERT_TRUE(net.isolate(a, ia.pid()));
    ASSERT_TRUE(net.isolate(orphan, io.pid()));
    ipa = ipOf(net, a.id());
    ipo = ipOf(net, orphan.id());
  }
  // "Restart": a new host and plugin instance; the IPAM file is lost too,
  // so a's address must come back from what prepare left beside its files.
  for (const auto& f : std::vector<std::string>{env.work_dir + "/plugins/network/" + bridge + ".ipam"}) {
    ASSERT_TRUE(fs::exists(f)) << f;
    ASSERT_EQ(::unlink(f.c_str()), 0);
  }
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto r = net.recover({stateOf(a, lia, ia.pid())});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(ipOf(net, a.id()), ipa);
  EXPECT_EQ(ipOf(net, orphan.id()), "");
  EXPECT_TRUE(linkExists(veth("a")));
  EXPECT_FALSE(linkExists(veth("orphan")));  // removed as an orphan
  // The orphan's address is free again; a's is not handed out twice.
  auto c = topLevel(env, "c");
  auto lic = net.prepare(c);
  ASSERT_TRUE(lic) << lic.error().message();
  EXPECT_EQ(ipOf(net, c.id()), ipo);
  // a's namespace keeps its address and route through the restart.
  auto addr = inNetns(ia.netns(), {"busybox", "ip", "-o", "-4", "addr", "show", "eth0"});
  EXPECT_NE(addr.out.find("inet " + ipa + "/"), std::string::npos) << addr.out;
  ASSERT_TRUE(net.cleanup(a.id(), lia));
  ASSERT_TRUE(net.cleanup(c.id(), *lic));
  EXPECT_TRUE(bridgePorts(bridge).empty());
}

TEST_F(NetworkIsolator, ROOT_ExhaustedNetworkIsAClearErrorWithNothingHalfMade) {
  WARREN_REQUIRE_ROOT();
  NetPlugin net(env, bridgeFlags(30));  // one container address
  ASSERT_TRUE(net) << net.error();
  auto a = topLevel(env, "a"), b = topLevel(env, "b");
  auto lia = net.prepare(a);
  ASSERT_TRUE(lia) << lia.error().message();
  auto lib = net.prepare(b);
  ASSERT_FALSE(lib);
  EXPECT_EQ(lib.error().code(), Code::FailedPrecondition);
  EXPECT_NE(lib.error().message().find("container 'b': network " + testCidr(30) +
                                       " is exhausted: all 1 container addresses are in use"),
            std::string::npos)
      << lib.error().message();
  EXPECT_FALSE(fs::exists(b.runtime_dir() + "/network"));
  EXPECT_EQ(ipOf(net, b.id()), "");
  ASSERT_TRUE(net.cleanup(a.id(), *lia));
  ASSERT_TRUE(net.prepare(b));  // freed: b fits now
  ASSERT_TRUE(net.cleanup(b.id(), {}));
}

TEST_F(NetworkIsolator, ROOT_ABridgeNameThatIsNotABridgeIsRefused) {
  WARREN_REQUIRE_ROOT();
  const std::string peer = "wtp" + std::to_string(getpid() % 10000000);
  ASSERT_TRUE(makeVethPair(bridge, peer));
  NetPlugin net(env, bridgeFlags());
  ASSERT_TRUE(net) << net.error();
  auto a = topLevel(env, "a");
  auto li = net.prepare(a);
  ASSERT_FALSE(li);
  EXPECT_NE(li.error().message().find("network bridge '" + bridge +
                                      "' exists but is not a bridge (it is a 'veth' link)"),
            std::string::npos)
      << li.error().message();
  EXPECT_EQ(ipOf(net, a.id()), "");  // the address was given back
  EXPECT_FALSE(fs::exists(a.runtime_dir() + "/network"));
  removeLink(bridge);  // takes the peer with it
  EXPECT_FALSE(linkExists(peer));
}

}  // namespace
}  // namespace warren::testing
