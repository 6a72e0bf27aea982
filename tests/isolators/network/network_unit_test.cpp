// Unit tests of the network isolator's pure parts: CIDRs, the IPAM (real
// files, real flock, no root), settings and mode resolution, and the
// generated /etc files.
#include <sys/wait.h>
#include <unistd.h>

#include <set>

#include <gtest/gtest.h>

#include "cidr.hpp"
#include "etc_files.hpp"
#include "ipam.hpp"
#include "network_config.hpp"
#include "test_env.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::network {
namespace {

Cidr cidr(const std::string& s) {
  auto c = parseCidr(s);
  EXPECT_TRUE(c) << c.error().message();
  return *c;
}

TEST(Cidr, ParsesAndDerivesTheHostRange) {
  Cidr c = cidr("10.213.7.0/24");
  EXPECT_EQ(formatIpv4(c.gateway()), "10.213.7.1");
  EXPECT_EQ(formatIpv4(c.firstHost()), "10.213.7.2");
  EXPECT_EQ(formatIpv4(c.lastHost()), "10.213.7.254");
  EXPECT_EQ(formatIpv4(c.broadcast()), "10.213.7.255");
  EXPECT_EQ(c.str(), "10.213.7.0/24");
  EXPECT_TRUE(c.contains(*parseIpv4("10.213.7.9")));
  EXPECT_FALSE(c.contains(*parseIpv4("10.213.8.9")));
}

TEST(Cidr, RejectsBadInputWithAClearMessage) {
  for (const char* bad : {"10.213.0.0", "10.213.0.0/", "10.213.0.0/33", "10.213.0/24", "a.b.c.d/24",
                          "10.213.0.256/24", "10.213.0.0/31", "10.213.0.0/24x", "-1.0.0.0/8"}) {
    auto c = parseCidr(bad);
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code(), Code::InvalidArgument);
    EXPECT_NE(c.error().message().find(std::string("'") + bad + "'"), std::string::npos)
        << c.error().message();
  }
  auto hostbits = parseCidr("10.213.0.5/24");
  ASSERT_FALSE(hostbits);
  EXPECT_NE(hostbits.error().message().find("did you mean 10.213.0.0/24"), std::string::npos);
}

class IpamTest : public ::testing::Test {
 protected:
  testing::TestEnv env;
  std::string dir = env.root + "/ipam";
  void SetUp() override { ASSERT_TRUE(fs::mkdirs(dir)); }
};

TEST_F(IpamTest, AllocatesLowestFreeAndIsIdempotentPerOwner) {
  Ipam ipam(dir, "wt0", cidr("10.213.0.0/24"));
  EXPECT_EQ(formatIpv4(*ipam.allocate("a")), "10.213.0.2");
  EXPECT_EQ(formatIpv4(*ipam.allocate("b")), "10.213.0.3");
  EXPECT_EQ(formatIpv4(*ipam.allocate("a")), "10.213.0.2");
  auto freed = ipam.release("a");
  ASSERT_TRUE(freed && *freed);
  EXPECT_EQ(formatIpv4(**freed), "10.213.0.2");
  EXPECT_FALSE(*ipam.release("a"));  // twice: nothing left, no error
  EXPECT_EQ(formatIpv4(*ipam.allocate("c")), "10.213.0.2");  // reused
}

TEST_F(IpamTest, PersistsAcrossInstances) {
  {
    Ipam ipam(dir, "wt0", cidr("10.213.0.0/24"));
    ASSERT_TRUE(ipam.allocate("a"));
    ASSERT_TRUE(ipam.allocate("b"));
  }
  Ipam again(dir, "wt0", cidr("10.213.0.0/24"));
  auto e = again.entries();
  ASSERT_TRUE(e) << e.error().message();
  ASSERT_EQ(e->size(), 2u);
  EXPECT_EQ(formatIpv4(e->at("b")), "10.213.0.3");
  EXPECT_EQ(formatIpv4(*again.allocate("c")), "10.213.0.4");
  auto text = fs::readFile(again.statePath());
  ASSERT_TRUE(text);
  EXPECT_NE(text->find("10.213.0.3 b\n"), std::string::npos) << *text;
}

TEST_F(IpamTest, ExhaustionIsAClearErrorAndChangesNothing) {
  Ipam ipam(dir, "wt0", cidr("10.213.0.0/29"));  // .2 - .6: five addresses
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ipam.allocate("c" + std::to_string(i)));
  auto before = fs::readFile(ipam.statePath());
  auto r = ipam.allocate("late");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
  EXPECT_EQ(r.error().message(),
            "network 10.213.0.0/29 is exhausted: all 5 container addresses are in use");
  EXPECT_EQ(*fs::readFile(ipam.statePath()), *before);
  EXPECT_FALSE(*ipam.lookup("late"));
}

TEST_F(IpamTest, ReserveRefusesAnAddressHeldByAnother) {
  Ipam ipam(dir, "wt0", cidr("10.213.0.0/24"));
  ASSERT_TRUE(ipam.allocate("a"));
  auto r = ipam.reserve("b", *parseIpv4("10.213.0.2"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::AlreadyExists);
  EXPECT_FALSE(ipam.reserve("b", *parseIpv4("10.213.0.1")));  // the gateway
  EXPECT_FALSE(ipam.reserve("b", *parseIpv4("10.213.1.2")));  // outside
  ASSERT_TRUE(ipam.reserve("b", *parseIpv4("10.213.0.9")));
  EXPECT_EQ(formatIpv4(**ipam.lookup("b")), "10.213.0.9");
}

TEST_F(IpamTest, RetainReleasesUnknownOwners) {
  Ipam ipam(dir, "wt0", cidr("10.213.0.0/24"));
  for (const char* o : {"a", "b", "c"}) ASSERT_TRUE(ipam.allocate(o));
  auto freed = ipam.retain([](const std::string& o) { return o == "b"; });
  ASSERT_TRUE(freed);
  EXPECT_EQ(freed->size(), 2u);
  EXPECT_EQ(ipam.entries()->size(), 1u);
  EXPECT_EQ(formatIpv4(**ipam.lookup("b")), "10.213.0.3");
}

TEST_F(IpamTest, CorruptStateIsAnErrorNamingTheFile) {
  Ipam ipam(dir, "wt0", cidr("10.213.0.0/24"));
  ASSERT_TRUE(fs::writeFile(ipam.statePath(), "# x\n10.213.0.2 a\nnot-an-ip b\n"));
  auto r = ipam.allocate("c");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find(ipam.statePath() + "' line 3 is malformed"), std::string::npos)
      << r.error().message();
}

// Several processes sharing the work dir (the embedded CLI) never get one
// address twice.
TEST_F(IpamTest, ConcurrentProcessesGetDistinctAddresses) {
  constexpr int kProcs = 4, kEach = 10;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      Ipam ipam(dir, "wt0", *parseCidr("10.213.0.0/24"));
      for (int i = 0; i < kEach; ++i) {
        if (!ipam.allocate("p" + std::to_string(p) + "-" + std::to_string(i))) _exit(1);
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int st = 0;
    ASSERT_EQ(waitpid(k, &st, 0), k);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  Ipam ipam(dir, "wt0", cidr("10.213.0.0/24"));
  auto e = ipam.entries();
  ASSERT_TRUE(e);
  ASSERT_EQ(e->size(), static_cast<size_t>(kProcs * kEach));
  std::set<Ipv4> addrs;
  for (const auto& [o, a] : *e) addrs.insert(a);
  EXPECT_EQ(addrs.size(), static_cast<size_t>(kProcs * kEach));
}

TEST(NetworkSettings, FlagsAndConfigResolve) {
  auto s = resolveSettings("", "", "", {}, {});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bridge, "warren0");
  EXPECT_FALSE(s->cidr);
  EXPECT_EQ(s->default_mode, Mode::None);

  s = resolveSettings("", "", "", {}, {{"network_bridge", "wtflag"}, {"network_cidr", "10.213.0.0/24"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bridge, "wtflag");
  EXPECT_EQ(s->default_mode, Mode::Bridge);

  s = resolveSettings("wtcfg", "10.213.4.0/24", "host", {"192.0.2.53"},
                      {{"network_bridge", "wtflag"}, {"network_cidr", "10.213.0.0/24"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->bridge, "wtcfg");
  EXPECT_EQ(s->cidr->str(), "10.213.4.0/24");
  EXPECT_EQ(s->default_mode, Mode::Host);
  EXPECT_EQ(s->nameservers, std::vector<std::string>{"192.0.2.53"});
}

TEST(NetworkSettings, BadSettingsAreRejected) {
  auto expectError = [](Result<Settings> r, const std::string& text) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
  };
  expectError(resolveSettings("a-bridge-name-too-long", "", "", {}, {}),
              "invalid network bridge name 'a-bridge-name-too-long'");
  expectError(resolveSettings("wt/0", "", "", {}, {}), "no '/', ':' or whitespace");
  expectError(resolveSettings("", "", "", {}, {{"network_cidr", "10.0.0.1/8"}}), "network_cidr: invalid CIDR");
  expectError(resolveSettings("", "", "bridged", {}, {}), "unknown network mode 'bridged'");
  expectError(resolveSettings("", "", "bridge", {}, {}), "'bridge' needs a CIDR (--network_cidr)");
  expectError(resolveSettings("", "", "", {"dns.example"}, {}), "nameservers");
}

v1::ContainerContext context(const std::string& id, const std::string& mode, bool nested = false) {
  v1::ContainerContext c;
  if (nested) {
    c.mutable_id()->add_path("parent");
    c.mutable_parent()->mutable_id()->add_path("parent");
    c.mutable_parent()->set_pid(42);
  }
  c.mutable_id()->add_path(id);
  c.mutable_config()->set_network_mode(mode);
  return c;
}

TEST(NetworkPlan, ModesAndBadInput) {
  Settings none;  // no CIDR
  Settings bridged;
  bridged.cidr = cidr("10.213.0.0/24");
  bridged.default_mode = Mode::Bridge;

  EXPECT_EQ(planFor(context("c", ""), none)->mode, Mode::None);
  EXPECT_EQ(planFor(context("c", ""), bridged)->mode, Mode::Bridge);
  EXPECT_EQ(planFor(context("c", "host"), bridged)->mode, Mode::Host);
  EXPECT_EQ(planFor(context("c", "none"), bridged)->mode, Mode::None);
  EXPECT_TRUE(planFor(context("c", "", true), bridged)->nested);

  auto unknown = planFor(context("c", "overlay"), bridged);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message(),
            "container 'c': unknown network mode 'overlay' (expected host, none or bridge)");
  auto nocidr = planFor(context("c", "bridge"), none);
  ASSERT_FALSE(nocidr);
  EXPECT_EQ(nocidr.error().message(),
            "container 'c': network mode 'bridge' needs a CIDR (--network_cidr)");
  // A nested container may ask for a namespace of its own (issue #18).
  auto own = planFor(context("c", "none", true), bridged);
  ASSERT_TRUE(own);
  EXPECT_FALSE(own->nested);
  EXPECT_TRUE(own->child);
  EXPECT_EQ(own->mode, Mode::None);
  EXPECT_EQ(planFor(context("c", "bridge", true), bridged)->mode, Mode::Bridge);
  EXPECT_FALSE(planFor(context("c", "bridge", true), none));  // no CIDR
  auto host = planFor(context("c", "host", true), bridged);
  ASSERT_FALSE(host);
  EXPECT_EQ(host.error().code(), Code::InvalidArgument);
  EXPECT_EQ(host.error().message(),
            "container 'parent.c': network mode 'host' is not allowed for a nested container (it joins its "
            "parent's network, or asks for a namespace of its own with 'none' or 'bridge')");
  auto debug = context("c", "none", true);
  debug.mutable_config()->set_container_class(v1::DEBUG);
  auto d = planFor(debug, bridged);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message(), "container 'parent.c': network mode 'none' is not allowed for a DEBUG "
                                 "container (it lives in its parent's namespaces)");
}

TEST(NetworkNames, VethNamesAreShortStableAndOurs) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string n = vethName("/w/plugins/network", "container-" + std::to_string(i));
    EXPECT_EQ(n.rfind("wv", 0), 0u);
    EXPECT_LE(n.size(), 15u);
    EXPECT_TRUE(validateIfName(n, "veth"));
    seen.insert(n);
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(vethName("/w1", "web"), vethName("/w1", "web"));
  EXPECT_NE(vethName("/w1", "web"), vethName("/w2", "web"));  // two warren instances
  EXPECT_EQ(vethName("/w1", std::string(64, 'x')).size(), 14u);
}

TEST(EtcFiles, Rendering) {
  EXPECT_EQ(renderHostname("web"), "web\n");
  std::string hosts = renderHosts("web", *parseIpv4("10.213.0.2"));
  EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_NE(hosts.find("10.213.0.2\tweb\n"), std::string::npos);
  EXPECT_NE(renderHosts("web", std::nullopt).find("127.0.1.1\tweb\n"), std::string::npos);

  const std::string host = "nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch example.org\n# c\n";
  EXPECT_EQ(renderResolvConf(Mode::Host, host, {}), host);
  EXPECT_EQ(renderResolvConf(Mode::Bridge, host, {}),
            "nameserver 192.0.2.1\nsearch example.org\n");
  EXPECT_EQ(renderResolvConf(Mode::None, host, {"198.51.100.1"}),
            "nameserver 198.51.100.1\nsearch example.org\n");
}

TEST(EtcFiles, WrittenAndRemoved) {
  testing::TestEnv env;
  const std::string dir = env.root + "/run/c1/network";
  auto files = writeEtcFiles(dir, Mode::Bridge, "c1", *parseIpv4("10.213.0.2"), {});
  ASSERT_TRUE(files) << files.error().message();
  ASSERT_EQ(files->files.size(), 3u);
  EXPECT_EQ(files->files.at("/etc/hostname"), dir + "/hostname");
  EXPECT_EQ(*fs::readFile(dir + "/hostname"), "c1\n");
  EXPECT_NE(fs::readFile(dir + "/hosts")->find("10.213.0.2\tc1"), std::string::npos);
  ASSERT_TRUE(removeEtcFiles(dir));
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(removeEtcFiles(dir));  // idempotent
}

}  // namespace
}  // namespace warren::isolators::network
