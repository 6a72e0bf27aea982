// docker:// through a real registry: Debian's docker-registry started on
// 127.0.0.1:<free port> by the test, images pushed with skopeo from an OCI
// layout built here. Skipped (with the reason) when the binaries are absent.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <thread>

#include <gtest/gtest.h>

#include "fixture.hpp"
#include "residue.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::testing {
namespace {

using namespace images;

#define EXPECT_ERROR_HAS(result, text)                                                   \
  do {                                                                                   \
    ASSERT_FALSE(result) << "expected an error containing: " << (text);                 \
    EXPECT_NE((result).error().message().find(text), std::string::npos)                \
        << "error: " << (result).error().message() << "\nexpected to contain: " << (text); \
  } while (0)

bool haveBinary(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/usr/local/bin/", "/usr/sbin/"}) {
    if (access((std::string(dir) + name).c_str(), X_OK) == 0) return true;
  }
  return false;
}

int freePort() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

bool listening(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(s);
  return ok;
}

// docker-registry on 127.0.0.1:port with its config and storage in `dir`;
// killed by pid when this goes out of scope.
class Registry {
 public:
  Registry(const std::string& dir, const std::string& auth_yaml = "") : port_(freePort()) {
    fs::mkdirs(dir + "/data");
    std::string cfg = "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: " + dir +
                      "/data\nhttp:\n  addr: 127.0.0.1:" + std::to_string(port_) + "\n" + auth_yaml;
    fs::writeFile(dir + "/config.yml", cfg);
    pid_ = fork();
    if (pid_ == 0) {
      int fd = open((dir + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, 1);
      dup2(fd, 2);
      execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir + "/config.yml").c_str(), nullptr);
      _exit(127);
    }
    ready_ = eventually([&] { return listening(port_); }, std::chrono::seconds(15));
  }
  ~Registry() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int st = 0;
      if (!eventually([&] { return waitpid(pid_, &st, WNOHANG) == pid_; }, std::chrono::seconds(5))) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
      }
    }
  }
  bool ready() const { return ready_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

CmdResult skopeoCopy(const std::string& from, const std::string& to, bool all = false) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false"};
  if (all) argv.push_back("--all");
  argv.push_back(from);
  argv.push_back(to);
  return runCmd(argv, std::chrono::seconds(120));
}

Image registryImage() {
  Image img;
  img.layers = {busyboxLayer(), {makeTar({dir("etc"), file("etc/motd", "via registry\n")}), Compression::Gzip}};
  img.cmd = {"/bin/sh"};
  img.env = {"PATH=/bin"};
  return img;
}

#define REQUIRE_REGISTRY_BINARIES()                                                                 \
  do {                                                                                              \
    WARREN_REQUIRE_ROOT();                                                                          \
    if (!haveBinary("docker-registry") || !haveBinary("skopeo")) {                                  \
      GTEST_SKIP() << "skipped: needs docker-registry and skopeo (Debian packages docker-registry, " \
                      "skopeo)";                                                                    \
    }                                                                                               \
  } while (0)

TEST(ROOT_ImageRegistry, RoundTripThroughALocalRegistry) {
  REQUIRE_REGISTRY_BINARIES();
  TestEnv scratch;
  Registry reg(scratch.root + "/registry");
  ASSERT_TRUE(reg.ready()) << "docker-registry did not start";
  std::string layout = scratch.root + "/layout";
  writeOciLayout(layout, {{"v1", registryImage()}});
  auto push = skopeoCopy("oci:" + layout + ":v1", "docker://" + reg.host() + "/warren/busybox:v1");
  ASSERT_EQ(push.exit_code, 0) << push.err;

  ProvisionerEnv p({{"registry_insecure", "example.invalid:1, " + reg.host()}});
  std::string ref = "docker://" + reg.host() + "/warren/busybox:v1";
  auto r = p.provision("reg", ref, "copy");
  ASSERT_TRUE(r) << r.error().message();
  auto out = runCmd({"chroot", r->rootfs(), "/bin/sh", "-c", "cat /etc/motd"});
  EXPECT_EQ(out.out, "via registry\n") << out.err;
  ASSERT_EQ(r->image_config().cmd_size(), 1);
  EXPECT_EQ(r->image_config().cmd(0), "/bin/sh");
  // The same tree as straight from the layout.
  auto local = p.provision("local", "oci:" + layout + ":v1", "copy");
  ASSERT_TRUE(local) << local.error().message();
  EXPECT_EQ(treeListing(r->rootfs()), treeListing(local->rootfs()));
  // By digest.
  auto info = p.pull(ref);
  ASSERT_TRUE(info) << info.error().message();
  EXPECT_EQ(info->layers(), 2);
  auto byDigest = p.provision("dig", "docker://" + reg.host() + "/warren/busybox@" + info->digest(), "copy");
  ASSERT_TRUE(byDigest) << byDigest.error().message();
  for (auto id : {"reg", "local", "dig"}) ASSERT_TRUE(p.destroy(id));

  // A multi-platform index pushed with --all: the host's platform is picked.
  Image foreign, native;
  foreign.architecture = hostArch() == "s390x" ? "riscv64" : "s390x";
  foreign.layers = {{makeTar({file("which", "foreign")}), Compression::Gzip}};
  native.layers = {{makeTar({file("which", "native")}), Compression::Gzip}};
  writeMultiPlatformLayout(scratch.root + "/multi", "v1", {foreign, native});
  auto pushAll = skopeoCopy("oci:" + scratch.root + "/multi:v1", "docker://" + reg.host() + "/warren/multi:v1", true);
  ASSERT_EQ(pushAll.exit_code, 0) << pushAll.err;
  auto m = p.provision("multi", "docker://" + reg.host() + "/warren/multi:v1", "copy");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(*fs::readFile(m->rootfs() + "/which"), "native");
  ASSERT_TRUE(p.destroy("multi"));

  // 404s: an unknown tag and an unknown repository; nothing left behind.
  ProvisionerEnv q({{"registry_insecure", reg.host()}});
  auto tag = q.provision("c", "docker://" + reg.host() + "/warren/busybox:nope", "copy");
  EXPECT_ERROR_HAS(tag, "not found: registry " + reg.host() + " answered HTTP 404 for warren/busybox/manifests/nope");
  auto repo = q.provision("c", "docker://" + reg.host() + "/warren/nothing:v1", "copy");
  EXPECT_ERROR_HAS(repo, "answered HTTP 404");
  // Without registry_insecure the client speaks TLS and fails clearly.
  ProvisionerEnv tls;
  auto secure = tls.provision("c", ref, "copy");
  EXPECT_ERROR_HAS(secure, "registry " + reg.host() + " unreachable");
  for (auto* e : {&q, &tls}) {
    EXPECT_TRUE(e->storeEntries("layers").empty());
    EXPECT_TRUE(e->storeEntries("tmp").empty());
    EXPECT_TRUE(e->storeEntries("containers").empty());
  }
}

TEST(ROOT_ImageRegistry, RegistryDownIsAClearErrorAndLeavesNothing) {
  WARREN_REQUIRE_ROOT();
  int port = freePort();
  std::string host = "127.0.0.1:" + std::to_string(port);
  ProvisionerEnv p({{"registry_insecure", host}});
  auto r = p.provision("c", "docker://" + host + "/warren/busybox:v1", "copy");
  EXPECT_ERROR_HAS(r, "image 'docker://" + host + "/warren/busybox:v1': registry " + host + " unreachable");
  EXPECT_TRUE(p.storeEntries("layers").empty());
  EXPECT_TRUE(p.storeEntries("containers").empty());
  EXPECT_FALSE(fs::exists(p.env.root + "/rootfs-c"));
}

// A one-shot token service: answers every request with a token the registry
// will not accept, and remembers the request line.
class TokenServer {
 public:
  TokenServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 4);
    thread_ = std::thread([this] {
      while (!stop_) {
        int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) return;
        char buf[4096];
        ssize_t n = read(c, buf, sizeof buf - 1);
        if (n > 0) {
          std::string req(buf, static_cast<size_t>(n));
          request_ = req.substr(0, req.find('\r'));
        }
        std::string body = R"({"token":"not-a-valid-jwt"})";
        std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        (void)!write(c, resp.data(), resp.size());
        close(c);
      }
    });
  }
  ~TokenServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::string request() const { return request_; }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::string request_;
};

TEST(ROOT_ImageRegistry, BearerTokenIsRequestedAndARefusalIsAClear401) {
  REQUIRE_REGISTRY_BINARIES();
  TestEnv scratch;
  auto cert = runCmd({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=warren-test",
                      "-days", "1", "-keyout", scratch.root + "/key.pem", "-out", scratch.root + "/cert.pem"});
  if (cert.exit_code != 0) GTEST_SKIP() << "skipped: openssl could not make a certificate: " << cert.err;
  TokenServer tokens;
  std::string auth = "auth:\n  token:\n    realm: http://127.0.0.1:" + std::to_string(tokens.port()) +
                     "/token\n    service: warren-test\n    issuer: warren-test\n    rootcertbundle: " +
                     scratch.root + "/cert.pem\n";
  Registry reg(scratch.root + "/registry", auth);
  ASSERT_TRUE(reg.ready()) << "docker-registry did not start";
  ProvisionerEnv p({{"registry_insecure", reg.host()}});
  auto r = p.provision("c", "docker://" + reg.host() + "/warren/private:v1", "copy");
  EXPECT_ERROR_HAS(r, "unauthorized: registry " + reg.host() + " answered HTTP 401");
  EXPECT_EQ(tokens.request(),
            "GET /token?service=warren-test&scope=repository%3Awarren%2Fprivate%3Apull HTTP/1.1");
  EXPECT_TRUE(p.storeEntries("layers").empty());
  EXPECT_TRUE(p.storeEntries("containers").empty());
}

// Issue #13, case 9: a cached image could not launch while its registry was
// down (the manifest was resolved again every time). With the default
// --pull=missing it launches offline; --pull=always resolves again (and so
// fails now); --pull=never uses only the store.
TEST(ROOT_ImageRegistry, PullPolicyCachedImageLaunchesWhileTheRegistryIsDown) {
  REQUIRE_REGISTRY_BINARIES();
  TestEnv env;
  auto reg = std::make_unique<Registry>(env.root + "/registry");
  ASSERT_TRUE(reg->ready()) << "docker-registry did not start";
  std::string layout = env.root + "/layout";
  writeOciLayout(layout, {{"v1", registryImage()}});
  std::string ref = "docker://" + reg->host() + "/warren/busybox:v1";
  ASSERT_EQ(skopeoCopy("oci:" + layout + ":v1", ref).exit_code, 0);
  std::vector<std::string> base = {env.warren_bin, "--work_dir", env.work_dir, "--runtime_dir", env.runtime_dir,
                                   "--cgroups_root", env.cgroups_root, "--plugin_dir", env.plugin_dir,
                                   "--isolation", "pid", "--registry_insecure", reg->host()};
  auto warren = [&](std::vector<std::string> args) {
    auto argv = base;
    argv.insert(argv.end(), args.begin(), args.end());
    return runCmd(argv, std::chrono::seconds(120));
  };
  auto first = warren({"run", "--image", ref, "--", "/bin/sh", "-c", "cat /etc/motd"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, "via registry\n");

  reg.reset();  // the registry is down from here on
  auto offline = warren({"run", "--image", ref, "--", "/bin/sh", "-c", "cat /etc/motd"});
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(offline.out, "via registry\n");
  auto never = warren({"--pull", "never", "run", "--image", ref, "--", "/bin/true"});
  EXPECT_EQ(never.exit_code, 0) << never.err;
  auto always = warren({"--pull", "always", "run", "--image", ref, "--", "/bin/true"});
  EXPECT_NE(always.exit_code, 0) << "--pull=always must resolve again";
  auto uncached = warren({"--pull", "never", "run", "--image", "docker://127.0.0.1:1/not/here:v1", "--", "/bin/true"});
  EXPECT_NE(uncached.exit_code, 0);
  EXPECT_NE(uncached.err.find("is not in the local store and --pull=never"), std::string::npos) << uncached.err;
  auto bad = warren({"--pull", "sometimes", "images", "ls"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("invalid --pull 'sometimes'"), std::string::npos) << bad.err;
  EXPECT_TRUE(listDir(env.runtime_dir + "/containers").empty());
}

}  // namespace
}  // namespace warren::testing
