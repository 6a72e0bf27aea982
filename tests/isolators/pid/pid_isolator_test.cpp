// The pid isolator loaded through the real plugin host. The decision tests
// need no root; the ROOT_ test applies the returned entries the way a
// launcher must (setns for ENTER; CREATE after an ENTER from a process whose
// active pid namespace is the entered one) and checks the resulting
// namespace tree with NS_GET_PARENT.
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstring>

#include <spdlog/sinks/stdout_sinks.h>

#include <gtest/gtest.h>

#include "host/plugin_host.hpp"
#include "test_env.hpp"
#include "warren/sdk/ids.hpp"

namespace warren::testing {
namespace {

class PidPlugin {
 public:
  PidPlugin(const TestEnv& env, std::string config = "") {
    plugins::HostOptions opts;
    opts.plugin_dirs = {env.plugin_dir};
    opts.work_dir = env.work_dir;
    opts.runtime_dir = env.runtime_dir;
    if (!config.empty()) opts.configs["pid"] = config;
    host_ = plugins::PluginHost::create(
        opts, std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::stderr_sink_mt>()));
    auto loaded = host_->loadFile(env.plugin_dir + "/isolator_pid.so");
    if (!loaded) {
      error = loaded.error().message();
      return;
    }
    auto inst = host_->instance(plugins::Kind::Isolator, "pid");
    if (inst) plugin = *inst;
    else error = inst.error().message();
  }
  Result<v1::LaunchInfo> prepare(const v1::ContainerContext& c) {
    v1::PrepareRequest req;
    *req.mutable_container() = c;
    auto r = plugin->call<v1::PrepareResponse>(v1::PREPARE, req);
    if (!r) return fail(r.error());
    return r->launch_info();
  }

  plugins::Plugin* plugin = nullptr;
  std::string error;

 private:
  std::unique_ptr<plugins::PluginHost> host_;
};

v1::ContainerContext top(const std::string& name) {
  v1::ContainerContext c;
  c.mutable_id()->add_path(name);
  c.set_depth(1);
  return c;
}

v1::ContainerContext child(const v1::ContainerContext& parent, pid_t ppid, const std::string& name,
                           bool share = false, bool debug = false) {
  v1::ContainerContext c;
  *c.mutable_id() = childOf(parent.id(), name);
  c.mutable_config()->set_share_pid_namespace(share);
  if (debug) c.mutable_config()->set_container_class(v1::DEBUG);
  *c.mutable_parent()->mutable_id() = parent.id();
  c.mutable_parent()->set_pid(ppid);
  c.set_depth(parent.depth() + 1);
  return c;
}

std::string describe(const v1::LaunchInfo& li) {
  std::string out;
  for (const auto& ns : li.namespaces()) {
    EXPECT_EQ(ns.type(), v1::Namespace::PID);
    out += ns.action() == v1::Namespace::CREATE ? "CREATE;" : "ENTER " + ns.path() + ";";
  }
  return out;
}

TEST(PidIsolator, NamespacesFollowTheNestingRules) {
  TestEnv env;
  PidPlugin pid(env);
  ASSERT_TRUE(pid.plugin) << pid.error;
  EXPECT_TRUE(pid.plugin->info().supports_nesting());
  EXPECT_TRUE(pid.plugin->info().supports_standalone());
  auto p = top("p");
  EXPECT_EQ(describe(*pid.prepare(p)), "CREATE;");
  EXPECT_EQ(describe(*pid.prepare(child(p, 4242, "c"))), "ENTER /proc/4242/ns/pid;CREATE;");
  EXPECT_EQ(describe(*pid.prepare(child(p, 4242, "c", /*share=*/true))), "ENTER /proc/4242/ns/pid;");
  EXPECT_EQ(describe(*pid.prepare(child(p, 4242, "dbg", false, /*debug=*/true))),
            "ENTER /proc/4242/ns/pid;");
}

TEST(PidIsolator, BadInputIsRefused) {
  TestEnv env;
  PidPlugin pid(env);
  ASSERT_TRUE(pid.plugin) << pid.error;
  auto p = top("p");
  p.mutable_config()->set_share_pid_namespace(true);
  auto r = pid.prepare(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  EXPECT_NE(r.error().message().find(
                "container 'p': share_pid_namespace is only valid for a nested container"),
            std::string::npos)
      << r.error().message();

  auto orphan = pid.prepare(child(top("p"), 0, "c"));
  ASSERT_FALSE(orphan);
  EXPECT_EQ(orphan.error().code(), Code::FailedPrecondition);
  EXPECT_NE(orphan.error().message().find("parent 'p' has no running init"), std::string::npos);

  PidPlugin bad(env, R"({"no_such_field": true})");
  EXPECT_FALSE(bad.plugin);
  EXPECT_NE(bad.error.find("pid isolator: invalid config"), std::string::npos) << bad.error;
}

TEST(PidIsolator, HostPidNamespaceOptionAndStatus) {
  TestEnv env;
  PidPlugin pid(env, R"({"host_pid_namespace": true})");
  ASSERT_TRUE(pid.plugin) << pid.error;
  auto p = top("p");
  EXPECT_EQ(describe(*pid.prepare(p)), "");
  EXPECT_EQ(describe(*pid.prepare(child(p, 77, "c"))), "ENTER /proc/77/ns/pid;CREATE;");

  v1::ContainerRequest req;
  *req.mutable_id() = p.id();
  req.mutable_state()->set_pid(31337);
  auto st = pid.plugin->call<v1::ContainerStatus>(v1::STATUS, req);
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->pid(), 31337);
}

// ---------------------------------------------------------------- real kernel

struct NsReport {
  ino_t own = 0, parent = 0;
  pid_t pid_inside = 0;  // getpid() in its own namespace
};

ino_t inodeOf(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

// F hands its pid namespace fd to the test over SCM_RIGHTS: NS_GET_PARENT
// only answers for namespaces in the caller's scope, i.e. from the host's.
void sendNsFd(int sock, pid_t pid_inside) {
  int fd = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{&pid_inside, sizeof pid_inside};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  (void)!sendmsg(sock, &msg, 0);
}

NsReport receiveNsFd(int sock) {
  NsReport r;
  char cbuf[CMSG_SPACE(sizeof(int))] = {};
  iovec iov{&r.pid_inside, sizeof r.pid_inside};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0) return {};
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return {};
  int fd = -1;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  r.own = inodeOf(fd);
  int pfd = ioctl(fd, NS_GET_PARENT);
  r.parent = pfd >= 0 ? inodeOf(pfd) : 0;
  if (pfd >= 0) close(pfd);
  close(fd);
  return r;
}

// Forks H, which applies the PID entries like a launcher and forks the
// container's first process F; F reports its namespace and either exits or
// (keep) stays until killed, with its host pid in *final_pid.
NsReport spawn(const v1::LaunchInfo& li, bool keep, pid_t* final_pid) {
  int sv[2], pidp[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0 || pipe2(pidp, O_CLOEXEC) != 0) {
    return {};
  }
  pid_t h = fork();
  if (h == 0) {
    // Every process of the tree dies with its parent, even if the test is
    // killed half-way (F is pid 1 of its namespace: nothing else reaps it).
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    bool entered = false, create = false;
    for (const auto& ns : li.namespaces()) {
      if (ns.action() == v1::Namespace::ENTER) {
        int fd = open(ns.path().c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWPID) != 0) _exit(10);
        entered = true;
      } else {
        create = true;
      }
    }
    auto final = [&] {
      sendNsFd(sv[1], getpid());
      if (keep) while (true) pause();
      _exit(0);
    };
    auto forkRun = [&](auto body) -> pid_t {
      pid_t k = fork();
      if (k == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        body();
      }
      return k;
    };
    if (create && entered) {
      // clone(CLONE_NEWPID) needs the active pid namespace to be the one
      // entered: an intermediate process in it makes the new namespace.
      pid_t i = forkRun([&] {
        if (unshare(CLONE_NEWPID) != 0) _exit(11);
        pid_t f = forkRun(final);
        waitpid(f, nullptr, 0);
        _exit(0);
      });
      waitpid(i, nullptr, 0);
      _exit(0);
    }
    if (create && unshare(CLONE_NEWPID) != 0) _exit(12);
    pid_t f = forkRun(final);
    (void)!write(pidp[1], &f, sizeof f);
    waitpid(f, nullptr, 0);
    _exit(0);
  }
  close(sv[1]);
  close(pidp[1]);
  NsReport r = receiveNsFd(sv[0]);
  pid_t f = -1;
  if (keep && read(pidp[0], &f, sizeof f) != sizeof f) f = -1;
  if (final_pid) *final_pid = f;
  close(sv[0]);
  close(pidp[0]);
  if (!keep) waitpid(h, nullptr, 0);
  return r;
}

TEST(PidIsolator, ROOT_EntriesBuildTheExpectedNamespaceTree) {
  WARREN_REQUIRE_ROOT();
  TestEnv env;
  PidPlugin pid(env);
  ASSERT_TRUE(pid.plugin) << pid.error;
  int self = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  const ino_t host_ns = inodeOf(self);
  close(self);

  auto p = top("p");
  pid_t parent_init = -1;
  NsReport pr = spawn(*pid.prepare(p), /*keep=*/true, &parent_init);
  ASSERT_GT(parent_init, 0);
  EXPECT_EQ(pr.pid_inside, 1);          // warren-init is pid 1 of its own namespace
  EXPECT_EQ(pr.parent, host_ns);        // a child of the host's
  EXPECT_NE(pr.own, host_ns);

  NsReport own = spawn(*pid.prepare(child(p, parent_init, "c")), false, nullptr);
  EXPECT_EQ(own.pid_inside, 1);         // its own pid namespace...
  EXPECT_EQ(own.parent, pr.own);        // ...nested under the parent's
  NsReport shared = spawn(*pid.prepare(child(p, parent_init, "s", true)), false, nullptr);
  EXPECT_EQ(shared.own, pr.own);        // the parent's namespace
  EXPECT_GT(shared.pid_inside, 1);
  NsReport debug = spawn(*pid.prepare(child(p, parent_init, "d", false, true)), false, nullptr);
  EXPECT_EQ(debug.own, pr.own);

  kill(parent_init, SIGKILL);
  while (waitpid(-1, nullptr, 0) > 0) {
  }
}

}  // namespace
}  // namespace warren::testing
