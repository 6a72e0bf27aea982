// A static probe run inside containers: tries each named system call with
// harmless arguments and prints "name=ok" or "name=<ERRNO NAME>", one a line.
//   keyctl add_key request_key bpf kexec_load unshare_user clone_newuser
//   mount mkdir getpid io_uring_setup personality
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

namespace {

long probe(const std::string& name) {
  if (name == "keyctl") return syscall(SYS_keyctl, 0 /*KEYCTL_GET_KEYRING_ID*/, -3 /*session*/, 0);
  if (name == "add_key") return syscall(SYS_add_key, "user", "warren-probe", "x", 1, -2 /*process*/);
  if (name == "request_key") return syscall(SYS_request_key, "user", "warren-probe-none", nullptr, 0);
  if (name == "bpf") return syscall(SYS_bpf, 9999, nullptr, 0);
  if (name == "kexec_load") return syscall(SYS_kexec_load, 0, 1000, nullptr, 0);
  if (name == "unshare_user") return syscall(SYS_unshare, CLONE_NEWUSER);
  if (name == "clone_newuser") {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    return pid < 0 ? -1 : 0;
  }
  if (name == "mount") return mount("none", "/tmp", "tmpfs", 0, "");
  if (name == "mkdir") {
    long r = mkdir("/tmp/warren-probe-dir", 0755);
    if (r == 0) rmdir("/tmp/warren-probe-dir");
    return r;
  }
  if (name == "getpid") return syscall(SYS_getpid) > 0 ? 0 : -1;
  if (name == "io_uring_setup") return syscall(SYS_io_uring_setup, 0, nullptr);
  if (name == "personality") return syscall(SYS_personality, 0xffffffffUL) < 0 ? -1 : 0;
  errno = EDOM;
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    errno = 0;
    long r = probe(argv[i]);
    const char* e = strerrorname_np(errno);
    printf("%s=%s\n", argv[i], r >= 0 ? "ok" : (e ? e : "?"));
  }
  return 0;
}
