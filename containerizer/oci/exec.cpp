// `warren-oci exec`: one more process in a running container, as runc's
// exec gives it to a shim: a process the caller can reap. warren's own
// nested/DEBUG launch cannot give that (its init is adopted by the
// container's warren-init, see docs/architecture.md), so exec joins the
// container here: a first child joins the container's cgroup and
// namespaces (mount last), forks the process - in the container's pid
// namespace, its parent at the host level, so it is reparented to the
// caller's subreaper - and exits. The process then drops to the user,
// keeps the process.json's bounding set, sets rlimits, no_new_privs and the
// container's seccomp filter (warren's checkpointed LaunchInfo), as
// warren-init does for the command.
#include "exec.hpp"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "launcher/spec.hpp"
#include "warren/sdk/fs.hpp"
#include "warren/sdk/socket.hpp"

namespace warren::oci {
namespace {

struct Prepared {
  std::vector<std::string> argv, env;
  std::vector<int> caps;
  std::vector<std::pair<int, rlimit>> rlimits;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string cwd;
  std::string seccomp;
  std::vector<std::string> cgroup_procs;  // cgroup.procs files to join
  std::vector<std::pair<std::string, int>> ns;  // /proc/<init>/ns/<x>, CLONE_NEW*
};

[[noreturn]] void die(int fd, const std::string& what) {
  std::string m = what + ": " + std::strerror(errno);
  (void)!write(fd, m.data(), m.size());
  _exit(126);
}

std::string envValue(const std::vector<std::string>& env, const std::string& k) {
  for (const auto& e : env) {
    if (e.rfind(k + "=", 0) == 0) return e.substr(k.size() + 1);
  }
  return "";
}

// The process itself (in the container's namespaces): terminal, user,
// capabilities, rlimits, no_new_privs, cwd, seccomp, exec. Errors go to
// `report` (CLOEXEC: closed by a successful exec).
[[noreturn]] void becomeProcess(const Prepared& p, int report, int console) {
  setsid();
  if (console >= 0) {
    int m = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    int unlock = 0;
    if (m < 0 || ioctl(m, TIOCSPTLCK, &unlock) != 0) die(report, "open the container's /dev/ptmx");
    int s = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (s < 0) die(report, "open the pty's slave");
    if (!net::sendFd(console, "/dev/ptmx", m)) die(report, "send the terminal to the console socket");
    close(m);
    close(console);
    for (int fd = 0; fd < 3; ++fd) dup2(s, fd);
    if (s > 2) close(s);
    ioctl(0, TIOCSCTTY, 0);
  }
  for (const auto& [res, rl] : p.rlimits) {
    if (setrlimit(res, &rl) != 0) die(report, std::string("set ") + launcher::rlimitName(res));
  }
  for (int c = 0; c < 64; ++c) {
    int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
    if (r < 0) break;
    if (r == 1 && std::find(p.caps.begin(), p.caps.end(), c) == p.caps.end() &&
        prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
      die(report, "drop a capability from the bounding set");
    }
  }
  if (setgroups(1, &p.gid) != 0) die(report, "setgroups");
  if (setgid(p.gid) != 0) die(report, "setgid");
  if (setuid(p.uid) != 0) die(report, "setuid");
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (p.uid == 0) {
    for (int c : p.caps) {
      data[c / 32].effective |= 1u << (c % 32);
      data[c / 32].permitted |= 1u << (c % 32);
    }
  }
  if (syscall(SYS_capset, &hdr, data) != 0) die(report, "set capabilities");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(report, "set no_new_privs");
  if (chdir(p.cwd.c_str()) != 0) die(report, "chdir '" + p.cwd + "'");
  if (!p.seccomp.empty()) {
    sock_fprog prog{static_cast<unsigned short>(p.seccomp.size() / sizeof(sock_filter)),
                    reinterpret_cast<sock_filter*>(const_cast<char*>(p.seccomp.data()))};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) die(report, "install seccomp filter");
  }
  std::vector<char*> argv, envp;
  for (const auto& a : p.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : p.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const std::string& prog = p.argv[0];
  if (prog.find('/') != std::string::npos) {
    execve(prog.c_str(), argv.data(), envp.data());
  } else {
    std::string path = envValue(p.env, "PATH");
    if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    size_t pos = 0;
    while (true) {
      size_t e = path.find(':', pos);
      std::string dir = path.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
      execve(((dir.empty() ? "." : dir) + "/" + prog).c_str(), argv.data(), envp.data());
      if (e == std::string::npos) break;
      pos = e + 1;
    }
  }
  std::string m = "exec '" + prog + "': " + std::strerror(errno);
  (void)!write(report, m.data(), m.size());
  _exit(127);
}

}  // namespace

Result<int> execProcess(const ExecRequest& req) {
  Prepared p;
  const auto& c = req.spec.config;
  p.argv.push_back(c.command().value());
  for (const auto& a : c.command().arguments()) p.argv.push_back(a);
  // The container's environment under the process's own (as runc: the
  // process.json's env is the whole env; warren adds HOME when missing).
  for (const auto& [k, v] : c.env()) p.env.push_back(k + "=" + v);
  if (!c.env().count("HOME")) p.env.push_back("HOME=/root");
  p.cwd = c.working_dir();
  auto colon = c.user().find(':');
  p.uid = static_cast<uid_t>(std::stoul(c.user().substr(0, colon)));
  p.gid = static_cast<gid_t>(std::stoul(c.user().substr(colon + 1)));
  if (req.spec.launch.inheritable_capabilities_size() || req.spec.launch.ambient_capabilities_size()) {
    return fail(Code::Unimplemented, std::string("process.capabilities.") +
                                         (req.spec.launch.inheritable_capabilities_size() ? "inheritable" : "ambient") +
                                         ": not supported by warren-oci exec yet (create honours it)");
  }
  const auto& caps = req.spec.launch.capabilities().empty() ? req.container_launch.capabilities()
                                                              : req.spec.launch.capabilities();
  for (const auto& name : caps) {
    int n = launcher::capabilityFromName(name);
    if (n < 0) return fail(Code::InvalidArgument, "process.capabilities: unknown capability '" + name + "'");
    p.caps.push_back(n);
  }
  for (const auto& r : req.spec.launch.rlimits()) {
    int n = launcher::rlimitFromName(r.type());
    if (n < 0) return fail(Code::InvalidArgument, "process.rlimits: unknown rlimit '" + r.type() + "'");
    p.rlimits.push_back({n, rlimit{static_cast<rlim_t>(r.soft()), static_cast<rlim_t>(r.hard())}});
  }
  p.seccomp = req.container_launch.seccomp_bpf();
  for (const auto& ctl : cgroupControllers()) {
    std::string f = "/sys/fs/cgroup/" + ctl + req.cgroup_path + "/cgroup.procs";
    if (::access(f.c_str(), F_OK) == 0) p.cgroup_procs.push_back(f);
  }
  std::string base = "/proc/" + std::to_string(req.init_pid) + "/ns/";
  for (const auto& [n, t] : std::vector<std::pair<const char*, int>>{
           {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
           {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS}}) {
    p.ns.push_back({base + n, t});
  }
  UniqueFd console;
  if (!req.console_socket.empty()) {
    console.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, req.console_socket.c_str(), sizeof addr.sun_path - 1);
    if (!console || ::connect(console.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return failErrno("connect to --console-socket '" + req.console_socket + "'");
    }
  }
  // Namespace fds are opened before any setns (the paths are the host's).
  std::vector<std::pair<UniqueFd, int>> nsfds;
  for (const auto& [path, t] : p.ns) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return failErrno("open '" + path + "'");
    nsfds.emplace_back(std::move(fd), t);
  }
  int report[2], pidpipe[2];
  if (::pipe2(report, O_CLOEXEC) != 0 || ::pipe2(pidpipe, O_CLOEXEC) != 0) return failErrno("pipe");
  if (!req.detach) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);  // to reap the process ourselves
  pid_t a = ::fork();
  if (a < 0) return failErrno("fork");
  if (a == 0) {
    ::close(report[0]);
    ::close(pidpipe[0]);
    for (const auto& f : p.cgroup_procs) {
      int fd = ::open(f.c_str(), O_WRONLY | O_CLOEXEC);
      std::string me = std::to_string(::getpid());
      if (fd < 0 || ::write(fd, me.data(), me.size()) < 0) die(report[1], "join cgroup '" + f + "'");
      ::close(fd);
    }
    for (const auto& [fd, t] : nsfds) {
      if (::setns(fd.get(), t) != 0) die(report[1], "join the container's namespaces");
    }
    pid_t b = ::fork();
    if (b < 0) die(report[1], "fork");
    if (b == 0) becomeProcess(p, report[1], console ? console.get() : -1);
    (void)!::write(pidpipe[1], &b, sizeof b);
    _exit(0);
  }
  ::close(report[1]);
  ::close(pidpipe[1]);
  console.reset();
  int st = 0;
  while (::waitpid(a, &st, 0) < 0 && errno == EINTR) {}
  pid_t b = -1;
  bool got = ::read(pidpipe[0], &b, sizeof b) == static_cast<ssize_t>(sizeof b);
  ::close(pidpipe[0]);
  std::string err;
  char buf[512];
  ssize_t n;
  while ((n = ::read(report[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(n));
  ::close(report[0]);
  if (!err.empty()) {
    if (got) ::waitpid(b, nullptr, 0);
    return fail(Code::Internal, "exec: " + err);
  }
  if (!got) return fail(Code::Internal, "exec: the joining child failed");
  if (!req.pid_file.empty()) {
    std::string tmp = req.pid_file + ".warren-oci.tmp";
    WARREN_TRY(fs::writeFile(tmp, std::to_string(b)));
    if (::rename(tmp.c_str(), req.pid_file.c_str()) != 0) return failErrno("write --pid-file '" + req.pid_file + "'");
  }
  if (req.detach) return 0;
  while (::waitpid(b, &st, 0) < 0 && errno == EINTR) {}
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace warren::oci
