// Fuzz target: layer tar extraction (provisioners/image/extract.cpp
// extractTar, OCI whiteouts on) into a scratch directory.
//
// The jail, set up once (LLVMFuzzerInitialize), so no input can write outside
// its scratch dir even if extraction has a bug, and so any attempt shows:
//   - a private mount namespace (nothing here is seen by the host; it all
//     goes when the process exits, also on a crash);
//   - every mount in it read-only (mount_setattr AT_RECURSIVE), except
//     libFuzzer's own corpus/artifact directories and the current directory;
//   - the scratch dir: a 64 MiB tmpfs (nosuid, nodev, noexec) holding `dest`
//     (fresh for every input) and a decoy `outside/decoy` beside it.
// Invariants per input: no crash or UB; extraction never meets a read-only
// file system (that would be a write outside the scratch dir); the scratch
// dir holds exactly dest, the input and the untouched decoy; dest is removed
// afterwards. Needs root (CI runs as root): the replay test is ROOT_.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "extract.hpp"
#include "fuzz_check.hpp"
#include "warren/sdk/fs.hpp"

#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

using namespace warren;
using namespace warren::provisioners::image;

namespace {

constexpr char kDecoy[] = "decoy: nothing may touch this\n";
std::string g_jail;

struct MountAttrArg {  // struct mount_attr (linux/mount.h clashes with sys/mount.h)
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};
constexpr uint64_t kAttrRdonly = 0x1;     // MOUNT_ATTR_RDONLY
constexpr unsigned kAtRecursive = 0x8000;  // AT_RECURSIVE

int setReadOnly(const std::string& path, bool ro, bool recursive) {
  MountAttrArg a{ro ? kAttrRdonly : 0, ro ? 0 : kAttrRdonly, 0, 0};
  return static_cast<int>(::syscall(SYS_mount_setattr, AT_FDCWD, path.c_str(),
                                    recursive ? kAtRecursive : 0u, &a, sizeof a));
}

[[noreturn]] void setupFailed(const std::string& what) {
  std::fprintf(stderr, "layer_extract: cannot set up the jail: %s: %s (needs root)\n", what.c_str(),
               std::strerror(errno));
  std::exit(1);
}

bool isDir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string dirOf(const std::string& p) {
  auto s = p.rfind('/');
  return s == std::string::npos ? "." : (s == 0 ? "/" : p.substr(0, s));
}

// Directories libFuzzer (or the replay driver) writes to: the current one,
// corpus directories, the artifact prefix's directory.
std::vector<std::string> writableDirs(int argc, char** argv) {
  std::vector<std::string> out;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) != nullptr) out.push_back(cwd);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("-artifact_prefix=", 0) == 0) {
      out.push_back(dirOf(a.substr(17)));
    } else if (a.rfind("-exact_artifact_path=", 0) == 0) {
      out.push_back(dirOf(a.substr(21)));
    } else if (!a.empty() && a[0] != '-' && isDir(a)) {
      out.push_back(a);
    }
  }
  return out;
}

std::set<std::string> listDir(const std::string& dir) {
  std::set<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  FUZZ_CHECK(d != nullptr, "cannot list '%s': %s", dir.c_str(), std::strerror(errno));
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.insert(e->d_name);
  }
  ::closedir(d);
  return names;
}

void checkJail() {
  std::set<std::string> want{"dest", "input.tar", "outside"};
  FUZZ_CHECK(listDir(g_jail) == want, "the scratch dir holds something beside dest and the decoy");
  FUZZ_CHECK(listDir(g_jail + "/outside") == std::set<std::string>{"decoy"}, "the decoy dir changed");
  struct stat st {};
  std::string decoy = g_jail + "/outside/decoy";
  FUZZ_CHECK(::lstat(decoy.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
                 (st.st_mode & 07777) == 0644 && st.st_uid == 0,
             "the decoy was replaced, linked to or changed mode/owner");
  auto content = fs::readFile(decoy);
  FUZZ_CHECK(content && *content == kDecoy, "the decoy's content changed");
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  g_jail = WARREN_FUZZ_SCRATCH_DIR;
  if (!fs::mkdirs(g_jail)) setupFailed("mkdir " + g_jail);
  if (::unshare(CLONE_NEWNS) != 0) setupFailed("unshare(CLONE_NEWNS)");
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) setupFailed("make / private");
  auto keep = writableDirs(*argc, *argv);
  for (const auto& d : keep) {
    if (::mount(d.c_str(), d.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) setupFailed("bind " + d);
  }
  if (::mount("warren-fuzz", g_jail.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64m,mode=0755") != 0) {
    setupFailed("tmpfs on " + g_jail);
  }
  if (setReadOnly("/", true, true) != 0) setupFailed("make every mount read-only");
  for (const auto& d : keep) {
    if (setReadOnly(d, false, true) != 0) setupFailed("keep " + d + " writable");
  }
  if (setReadOnly(g_jail, false, false) != 0) setupFailed("make the scratch dir writable");
  // The jail must hold: a write outside it fails.
  int probe = ::open("/warren-fuzz-probe", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (probe >= 0 || errno != EROFS) {
    if (probe >= 0) ::unlink("/warren-fuzz-probe");
    std::fprintf(stderr, "layer_extract: '/' is still writable in the jail\n");
    std::exit(1);
  }
  if (!fs::mkdirs(g_jail + "/outside") || !fs::writeFile(g_jail + "/outside/decoy", kDecoy) ||
      ::chmod((g_jail + "/outside/decoy").c_str(), 0644) != 0) {
    setupFailed("write the decoy");
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input = g_jail + "/input.tar";
  std::string dest = g_jail + "/dest";
  FUZZ_CHECK(fs::writeFile(input, std::string_view(reinterpret_cast<const char*>(data), size)).has_value(),
             "cannot write the input");
  FUZZ_CHECK(::mkdir(dest.c_str(), 0755) == 0, "mkdir dest: %s", std::strerror(errno));
  auto r = extractTar(input, dest, {"fuzz layer", /*whiteouts=*/true});
  if (!r) {
    const std::string& m = r.error().message();
    FUZZ_CHECK(m.rfind("fuzz layer", 0) == 0, "error without its context: %s", m.c_str());
    FUZZ_CHECK(m.find("Read-only file system") == std::string::npos,
               "extraction tried to write outside its scratch dir: %s", m.c_str());
  }
  checkJail();
  auto removed = fs::removeTree(dest);
  FUZZ_CHECK(removed.has_value(), "cannot remove dest: %s", removed.error().message().c_str());
  FUZZ_CHECK(::unlink(input.c_str()) == 0, "unlink input");
  return 0;
}
