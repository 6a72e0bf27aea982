#include "cgroupfs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <thread>

#include "warren/sdk/fd.hpp"
#include "warren/sdk/fs.hpp"

namespace warren::isolators::cgroups {

Result<std::string> readValue(const std::string& file) {
  auto r = fs::readFile(file);
  if (!r) return fail(r.error());
  std::string s = std::move(*r);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

Result<uint64_t> readU64(const std::string& file) {
  WARREN_ASSIGN_OR_RETURN(std::string s, readValue(file));
  if (s == "max") return kUnlimited;
  errno = 0;
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || (end != nullptr && *end != '\0' && *end != ' ')) {
    return fail(Code::Internal, "unexpected content '" + s + "' in '" + file + "'");
  }
  if (v >= (1ULL << 62)) return kUnlimited;
  return static_cast<uint64_t>(v);
}

namespace {
Result<void> writeWith(const std::string& file, const std::string& value, int flags) {
  UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC | flags, 0644));
  if (!fd) return fail(Error::errnoNow("write '" + value + "' to '" + file + "'"));
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(Error::errnoNow("write '" + value + "' to '" + file + "'"));
  return {};
}
}  // namespace

Result<void> writeValue(const std::string& file, const std::string& value) {
  return writeWith(file, value, O_CREAT | O_TRUNC);
}

Result<void> writeExisting(const std::string& file, const std::string& value) {
  return writeWith(file, value, O_TRUNC);
}

std::optional<uint64_t> readKey(const std::string& file, const std::string& key) {
  auto r = fs::readFile(file);
  if (!r) return std::nullopt;
  std::istringstream in(*r);
  std::string k;
  unsigned long long v = 0;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    if (ls >> k >> v && k == key) return static_cast<uint64_t>(v);
  }
  return std::nullopt;
}

bool isDir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool isFile(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::vector<std::string> childDirs(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    // cgroupfs (kernfs) fills d_type: no stat per interface file, of which a
    // v1 memory cgroup alone has ~30 (the destroy path walks every level).
    bool dir_entry = e->d_type == DT_DIR || (e->d_type == DT_UNKNOWN && isDir(dir + "/" + n));
    if (dir_entry) out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> procs(const std::string& dir) {
  std::vector<pid_t> out;
  auto r = fs::readFile(dir + "/cgroup.procs");
  if (!r) return out;
  std::istringstream in(*r);
  long p = 0;
  while (in >> p) out.push_back(static_cast<pid_t>(p));
  return out;
}

bool alreadyIn(const std::string& dir, pid_t pid) {
  for (pid_t p : procs(dir)) {
    if (p == pid) return true;
  }
  return false;
}

std::vector<pid_t> procsRecursive(const std::string& dir) {
  std::vector<pid_t> out = procs(dir);
  for (const auto& c : childDirs(dir)) {
    auto more = procsRecursive(dir + "/" + c);
    out.insert(out.end(), more.begin(), more.end());
  }
  return out;
}

bool onCgroupFs(const std::string& path) {
  struct statfs sf {};
  if (::statfs(path.c_str(), &sf) != 0) return false;
  return sf.f_type == CGROUP_SUPER_MAGIC || sf.f_type == CGROUP2_SUPER_MAGIC;
}

Result<void> removeDir(const std::string& dir, std::chrono::milliseconds budget) {
  auto deadline = std::chrono::steady_clock::now() + budget;
  auto delay = std::chrono::milliseconds(1);
  while (true) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return {};
    int err = errno;
    if (err == ENOTEMPTY && !onCgroupFs(dir)) {
      // A cgroupfs-shaped directory on an ordinary filesystem (tests): the
      // interface files are plain files, remove them with the directory.
      return fs::removeTree(dir);
    }
    if (err != EBUSY || std::chrono::steady_clock::now() >= deadline) {
      return fail(Error::sys(err, "rmdir '" + dir + "'"));
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(100));
  }
}

Result<void> removeTreeCgroups(const std::string& dir, std::chrono::milliseconds budget) {
  Result<void> first;
  for (const auto& c : childDirs(dir)) {
    auto r = removeTreeCgroups(dir + "/" + c, budget);
    if (!r && first) first = r;
  }
  auto r = removeDir(dir, budget);
  if (!r && first) first = r;
  return first;
}

}  // namespace warren::isolators::cgroups
