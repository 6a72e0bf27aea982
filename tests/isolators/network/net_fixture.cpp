#include "net_fixture.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/veth.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace warren::testing {

std::string testBridge() { return "wtn" + std::to_string(getpid() % 10000000); }

std::string testCidr(int prefix) {
  return "10.213." + std::to_string(getpid() % 250) + ".0/" + std::to_string(prefix);
}

NetPlugin::NetPlugin(const TestEnv& env, std::map<std::string, std::string> flags,
                     std::string config) {
  plugins::HostOptions opts;
  opts.plugin_dirs = {env.plugin_dir};
  opts.work_dir = env.work_dir;
  opts.runtime_dir = env.runtime_dir;
  opts.cgroups_root = env.cgroups_root;
  opts.flags = std::move(flags);
  if (!config.empty()) opts.configs["network"] = config;
  auto log = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  host_ = plugins::PluginHost::create(opts, log);
  auto loaded = host_->loadFile(env.plugin_dir + "/isolator_network.so");
  if (!loaded) {
    error_ = loaded.error().message();
    return;
  }
  auto inst = host_->instance(plugins::Kind::Isolator, "network");
  if (!inst) {
    error_ = inst.error().message();
    return;
  }
  plugin_ = *inst;
}

Result<v1::LaunchInfo> NetPlugin::prepare(const v1::ContainerContext& c) {
  v1::PrepareRequest req;
  *req.mutable_container() = c;
  auto r = plugin_->call<v1::PrepareResponse>(v1::PREPARE, req);
  if (!r) return fail(r.error());
  return r->launch_info();
}

Result<void> NetPlugin::isolate(const v1::ContainerContext& c, pid_t pid) {
  v1::IsolateRequest req;
  *req.mutable_container() = c;
  req.set_pid(pid);
  auto r = plugin_->call<v1::Empty>(v1::ISOLATE, req);
  if (!r) return fail(r.error());
  return {};
}

Result<v1::ContainerStatus> NetPlugin::status(const v1::ContainerID& id) {
  v1::ContainerRequest req;
  *req.mutable_id() = id;
  return plugin_->call<v1::ContainerStatus>(v1::STATUS, req);
}

Result<void> NetPlugin::cleanup(const v1::ContainerID& id, const v1::LaunchInfo& li) {
  v1::ContainerRequest req;
  *req.mutable_id() = id;
  *req.mutable_state()->mutable_id() = id;
  *req.mutable_state()->mutable_launch_info() = li;
  auto r = plugin_->call<v1::Empty>(v1::CLEANUP, req);
  if (!r) return fail(r.error());
  return {};
}

Result<void> NetPlugin::recover(const std::vector<v1::ContainerState>& known) {
  v1::RecoverRequest req;
  for (const auto& s : known) *req.add_containers() = s;
  auto r = plugin_->call<v1::Empty>(v1::RECOVER, req);
  if (!r) return fail(r.error());
  return {};
}

NsProcess::NsProcess(bool new_net) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a killed test
    char ok = (!new_net || unshare(CLONE_NEWNET) == 0) ? 1 : 0;
    (void)!write(p[1], &ok, 1);
    while (true) pause();
  }
  close(p[1]);
  char ok = 0;
  if (read(p[0], &ok, 1) != 1 || ok != 1) kill();
  close(p[0]);
}

NsProcess::~NsProcess() { kill(); }

void NsProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

v1::ContainerContext topLevel(const TestEnv& env, const std::string& name, const std::string& mode) {
  v1::ContainerContext c;
  c.mutable_id()->add_path(name);
  c.mutable_config()->set_network_mode(mode);
  c.set_runtime_dir(env.runtime_dir + "/containers/" + name);
  c.set_sandbox(env.work_dir + "/sandboxes/" + name);
  c.set_depth(1);
  return c;
}

v1::ContainerContext nested(const TestEnv& env, const v1::ContainerContext& parent, pid_t parent_pid,
                            const std::string& name, const std::string& mode) {
  v1::ContainerContext c;
  *c.mutable_id() = childOf(parent.id(), name);
  c.mutable_config()->set_network_mode(mode);
  c.set_runtime_dir(env.runtime_dir + "/containers/" + formatId(c.id()));
  auto* p = c.mutable_parent();
  *p->mutable_id() = parent.id();
  p->set_pid(parent_pid);
  p->set_state(v1::RUNNING);
  c.set_depth(parent.depth() + 1);
  return c;
}

v1::ContainerState stateOf(const v1::ContainerContext& c, const v1::LaunchInfo& li, pid_t pid) {
  v1::ContainerState s;
  *s.mutable_id() = c.id();
  *s.mutable_config() = c.config();
  s.set_state(v1::RUNNING);
  s.set_pid(pid);
  *s.mutable_launch_info() = li;
  s.set_depth(c.depth());
  return s;
}

CmdResult inNetns(const std::string& netns_path, std::vector<std::string> argv,
                  std::chrono::milliseconds timeout) {
  std::vector<std::string> full = {"nsenter", "--net=" + netns_path, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return runCmd(full, timeout);
}

std::vector<v1::Namespace> netEntries(const v1::LaunchInfo& li) {
  std::vector<v1::Namespace> out;
  for (const auto& ns : li.namespaces()) {
    if (ns.type() == v1::Namespace::NET) out.push_back(ns);
  }
  return out;
}

bool linkExists(const std::string& name) {
  struct stat st {};
  return lstat(("/sys/class/net/" + name).c_str(), &st) == 0;
}

std::vector<std::string> linkNames() {
  std::vector<std::string> out;
  DIR* d = opendir("/sys/class/net");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') out.push_back(e->d_name);
  }
  closedir(d);
  return out;
}

void removeLink(const std::string& name) {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return;
  if (nl_connect(sk, NETLINK_ROUTE) == 0) {
    rtnl_link* l = rtnl_link_alloc();
    rtnl_link_set_name(l, name.c_str());
    (void)rtnl_link_delete(sk, l);
    rtnl_link_put(l);
  }
  nl_socket_free(sk);
}

bool makeVethPair(const std::string& a, const std::string& b) {
  nl_sock* sk = nl_socket_alloc();
  if (!sk) return false;
  bool ok = nl_connect(sk, NETLINK_ROUTE) == 0 && rtnl_link_veth_add(sk, a.c_str(), b.c_str(), getpid()) == 0;
  nl_socket_free(sk);
  return ok;
}

ino_t nsInode(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace warren::testing
