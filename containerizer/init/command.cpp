// The container's user, pre-exec steps and the command child: new session,
// parent-death signal, rlimits, user, capabilities, no_new_privs, only fds
// 0-2, working dir, PATH lookup in the container's environment, exec.
#include <grp.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "init/init.hpp"
#include "init/sys.hpp"

namespace warren::init {
namespace {

// A file of the container (its /etc/passwd): resolved inside its root.
std::string readAll(int root, const char* path, bool* ok) {
  std::string out;
  int fd = root >= 0 ? openInRoot(root, path, O_RDONLY | O_NONBLOCK) : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  *ok = fd >= 0;
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    size_t e = s.find(sep, pos);
    out.push_back(s.substr(pos, e == std::string::npos ? std::string::npos : e - pos));
    if (e == std::string::npos) return out;
    pos = e + 1;
  }
}

bool parseId(const std::string& s, unsigned* out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 10) return false;
  unsigned long v = std::strtoul(s.c_str(), nullptr, 10);
  if (v > 0xfffffffeUL) return false;
  *out = static_cast<unsigned>(v);
  return true;
}

// Lines of a colon file whose field `key` equals `value`.
std::vector<std::string> findEntry(const std::string& text, size_t key, const std::string& value) {
  for (const auto& line : split(text, '\n')) {
    auto f = split(line, ':');
    if (f.size() > key && f[key] == value) return f;
  }
  return {};
}

std::string envValue(const std::vector<std::string>& env, const char* name) {
  size_t n = std::strlen(name);
  for (const auto& e : env) {
    if (e.size() > n && e.compare(0, n, name) == 0 && e[n] == '=') return e.substr(n + 1);
  }
  return "";
}

struct Argv {
  std::vector<std::string> store;
  std::vector<char*> ptrs;
  explicit Argv(const std::vector<std::string>& v) : store(v) {
    for (auto& s : store) ptrs.push_back(s.data());
    ptrs.push_back(nullptr);
  }
};

// execvpe-like: PATH from the container's env; returns the failure message.
std::string execSearch(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  Argv a(argv), e(env);
  const std::string& prog = argv[0];
  if (prog.find('/') != std::string::npos) {
    execve(prog.c_str(), a.ptrs.data(), e.ptrs.data());
    return sysError("exec '" + prog + "'");
  }
  int saved = ENOENT;
  for (const auto& dir : split(envValue(env, "PATH"), ':')) {
    std::string full = (dir.empty() ? "." : dir) + "/" + prog;
    execve(full.c_str(), a.ptrs.data(), e.ptrs.data());
    if (errno == EACCES) saved = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) { saved = errno; break; }
  }
  errno = saved;
  return sysError("exec '" + prog + "'");
}

// First thing in a child of warren-init: no fd of init survives, not even
// until exec (close_range closes, it does not only mark CLOEXEC): nothing of
// the host is open while a path chosen by the container is resolved. `keep`
// (or -1) is moved to fd 3, CLOEXEC; returns false when that failed.
bool closeInheritedFds(int keep) {
  if (keep >= 0 && keep != 3 && dup3(keep, 3, O_CLOEXEC) < 0) return false;
  return closeRange(keep >= 0 ? 4 : 3, ~0U, 0) == 0;
}

// chdir into the working dir, resolved inside the root only (a
// /proc/self/fd/N magic link or a symlink out of the root is refused).
std::string enterWorkingDir(const std::string& cwd) {
  int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return sysError("open the container's root");
  int fd = openInRoot(root, cwd, O_PATH | O_DIRECTORY);
  int e = errno;
  close(root);
  errno = e;
  if (fd < 0 && (errno == ELOOP || errno == EXDEV)) {
    return sysError("chdir to working dir '" + cwd + "'") + " (magic links and paths out of the root are refused)";
  }
  if (fd < 0) return sysError("chdir to working dir '" + cwd + "'");
  bool ok = fchdir(fd) == 0;
  e = errno;
  close(fd);
  errno = e;
  return ok ? "" : sysError("chdir to working dir '" + cwd + "'");
}

void report(int fd, char kind, const std::string& msg) {
  std::string buf(1, kind);
  buf += msg;
  (void)!write(fd, buf.data(), buf.size());
}

// Runs in the command child, as root with every capability, before exec.
std::string dropPrivileges(const State& st, const User& u) {
  for (const auto& r : st.spec.rlimits) {
    rlimit rl{static_cast<rlim_t>(r.soft), static_cast<rlim_t>(r.hard)};
    if (setrlimit(r.resource, &rl) != 0) {
      std::string m = sysError(std::string("set ") + launcher::rlimitName(r.resource) + " to " +
                               std::to_string(r.soft) + "/" + std::to_string(r.hard));
      if (errno == EPERM) m += " (raising a hard limit needs CAP_SYS_RESOURCE)";
      return m;
    }
  }
  const auto& keep = st.spec.capabilities;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct have[2]{};
  if (syscall(SYS_capget, &hdr, have) != 0) return sysError("get capabilities");
  for (int c : keep) {
    if (!(have[c / 32].permitted & (1u << (c % 32)))) {
      return std::string("keep ") + launcher::capabilityName(c) +
             ": warren-init does not have it (the launching process lacks it)";
    }
  }
  for (int c = 0; c < 64; ++c) {
    int r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
    if (r < 0) break;  // past the kernel's last capability
    if (r == 1 && std::find(keep.begin(), keep.end(), c) == keep.end() &&
        prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0) {
      return sysError(std::string("drop ") + (launcher::capabilityName(c) ? launcher::capabilityName(c) : "capability") +
                      " from the bounding set");
    }
  }
  const auto& amb = st.spec.ambient_caps;
  // Ambient capabilities of a non-root user must survive setuid (in the
  // permitted set) to be raised below.
  if (u.uid != 0 && !amb.empty() && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) return sysError("keep capabilities");
  if (setgroups(u.groups.size(), u.groups.data()) != 0) return sysError("setgroups");
  if (setgid(u.gid) != 0) return sysError("setgid " + std::to_string(u.gid));
  if (setuid(u.uid) != 0) return sysError("setuid " + std::to_string(u.uid));
  // root keeps the kept set; any other user keeps none (like a login) but
  // its ambient ones (OCI).
  hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  for (int c : u.uid == 0 ? keep : amb) {
    data[c / 32].effective |= 1u << (c % 32);
    data[c / 32].permitted |= 1u << (c % 32);
  }
  // Inheritable and ambient stay empty (as crun) unless an OCI bundle lists
  // them: an exec'd program gains nothing beyond what file capabilities and
  // the bounding set allow.
  for (int c : st.spec.inheritable_caps) data[c / 32].inheritable |= 1u << (c % 32);
  if (syscall(SYS_capset, &hdr, data) != 0) return sysError("set capabilities");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) return sysError("clear ambient capabilities");
  for (int c : amb) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0) {
      return sysError(std::string("raise ambient ") + launcher::capabilityName(c));
    }
  }
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return sysError("set no_new_privs");
  return "";
}

std::vector<std::string> commandEnv(const State& st, const User& u) {
  std::vector<std::string> env = st.spec.env;
  bool has_home = false;
  for (const auto& e : env) has_home = has_home || e.compare(0, 5, "HOME=") == 0;
  if (!has_home) env.push_back("HOME=" + u.home);
  return env;
}

}  // namespace

std::string resolveUser(const State& st, User* out) {
  const std::string& spec = st.spec.user;
  User u;
  bool ok_pw = false, ok_gr = false;
  std::string passwd = readAll(st.root_fd, "/etc/passwd", &ok_pw);
  std::string group = readAll(st.root_fd, "/etc/group", &ok_gr);
  std::string name;
  if (!spec.empty()) {
    size_t colon = spec.find(':');
    std::string user_part = spec.substr(0, colon);
    std::string group_part = colon == std::string::npos ? "" : spec.substr(colon + 1);
    std::vector<std::string> pw;
    unsigned id;
    if (parseId(user_part, &id)) {
      u.uid = id;
      pw = findEntry(passwd, 2, user_part);
    } else {
      pw = findEntry(passwd, 0, user_part);
      if (pw.size() < 4 || !parseId(pw[2], &id)) {
        return "user '" + spec + "': no user '" + user_part + "' in the container's /etc/passwd";
      }
      u.uid = id;
    }
    if (pw.size() >= 4 && parseId(pw[3], &id)) u.gid = id;
    if (pw.size() >= 6 && !pw[5].empty()) u.home = pw[5];
    if (!pw.empty()) name = pw[0];
    if (!group_part.empty()) {
      if (parseId(group_part, &id)) {
        u.gid = id;
      } else {
        auto gr = findEntry(group, 0, group_part);
        if (gr.size() < 3 || !parseId(gr[2], &id)) {
          return "user '" + spec + "': no group '" + group_part + "' in the container's /etc/group";
        }
        u.gid = id;
      }
    }
  } else {
    auto pw = findEntry(passwd, 2, "0");
    if (pw.size() >= 6 && !pw[5].empty()) u.home = pw[5];
  }
  // Supplementary groups: those listing the user by name.
  if (!name.empty()) {
    for (const auto& line : split(group, '\n')) {
      auto f = split(line, ':');
      unsigned gid;
      if (f.size() < 4 || !parseId(f[2], &gid)) continue;
      for (const auto& member : split(f[3], ',')) {
        if (member == name && gid != u.gid) u.groups.push_back(gid);
      }
    }
  }
  *out = std::move(u);
  return "";
}

std::string chownPaths(const State& st, uid_t uid, gid_t gid) {
  if (uid == 0) return "";
  for (const auto& p : st.spec.chown_paths) {
    int fd = openInRoot(st.root_fd, p, O_PATH, RESOLVE_NO_SYMLINKS);
    if (fd < 0 && errno == ENOENT) continue;  // e.g. no logs with inherited stdio
    if (fd < 0) return sysError("give '" + p + "' to uid " + std::to_string(uid));
    int r = fchownat(fd, "", uid, gid, AT_EMPTY_PATH);
    int e = errno;
    close(fd);
    errno = e;
    if (r != 0) return sysError("give '" + p + "' to uid " + std::to_string(uid));
  }
  return "";
}

std::string ensureWorkingDir(const State& st) {
  const std::string& wd = st.spec.working_dir;
  if (wd.empty() || wd == "/" || st.spec.host_root) return "";
  int fd = openInRoot(st.root_fd, wd, O_PATH | O_DIRECTORY);
  if (fd < 0 && errno == ENOENT) fd = mkdirsInRoot(st.root_fd, wd, 0755);
  if (fd < 0 && errno != ENOENT) return "";  // reported by the command child's chdir, as before
  if (fd >= 0) close(fd);
  return "";
}

std::string runPreExec(const State& st) {
  for (const auto& argv : st.spec.pre_exec) {
    pid_t pid = fork();
    if (pid < 0) return sysError("fork pre-exec '" + argv[0] + "'");
    if (pid == 0) {
      if (!closeInheritedFds(-1)) _exit(126);
      resetSignalMaskForChild();
      if (chdir("/") != 0) _exit(126);
      std::string err = execSearch(argv, st.spec.env);
      report(2, ' ', "warren-init: " + err + "\n");
      _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    return "pre-exec '" + argv[0] + "' " +
           (WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                              : "was killed by signal " + std::to_string(WTERMSIG(status)));
  }
  return "";
}

std::string startCommand(const State& st, const User& user, pid_t* out, std::string* exec_error) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return sysError("pipe for the command");
  std::vector<std::string> env = commandEnv(st, user);
  std::string cwd = st.spec.working_dir.empty() ? "/" : st.spec.working_dir;
  pid_t pid = fork();
  if (pid < 0) return sysError("fork the command");
  if (pid == 0) {
    ioChildStdio(st);  // relayed I/O: pipes or the terminal onto 0-2
    // Only 0-2 and the report pipe (fd 3, CLOEXEC) stay.
    if (!closeInheritedFds(p[1])) {
      report(p[1], 'S', sysError("close warren-init's fds"));
      _exit(126);
    }
    const int report_fd = 3;
    resetSignalMaskForChild();
    setsid();
    ioChildTty(st);
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    std::string err = dropPrivileges(st, user);
    if (err.empty()) err = enterWorkingDir(cwd);
    if (err.empty()) err = applySeccomp(st);  // the very last step before exec
    if (!err.empty()) {
      report(report_fd, 'S', err);
      _exit(126);
    }
    report(report_fd, 'E', execSearch(st.spec.argv, env));
    _exit(127);
  }
  close(p[1]);
  std::string msg;
  char buf[1024];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    msg.append(buf, static_cast<size_t>(n));
  }
  close(p[0]);
  if (!msg.empty() && msg[0] == 'S') {
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return msg.substr(1);
  }
  if (!msg.empty() && msg[0] == 'E') *exec_error = msg.substr(1);
  *out = pid;
  return "";
}

}  // namespace warren::init
