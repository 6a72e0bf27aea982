#include "residue.hpp"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "warren/sdk/fs.hpp"

namespace warren::testing {

std::vector<std::string> listDir(const std::string& path) {
  std::vector<std::string> out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

namespace {

bool isDir(const std::string& p) {
  struct stat st {};
  return lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// The suite-wide tag "warren-test" stands for every "warren-test-<pid>".
bool suiteWide(const std::string& tag) { return tag == "warren-test"; }

// Whether `text` at `pos` holds the tag exactly: "warren-test-12" must not
// match "warren-test-123"; the suite-wide tag needs the "-<pid>" after it.
bool tagAt(const std::string& text, size_t pos, const std::string& tag) {
  if (text.compare(pos, tag.size(), tag) != 0) return false;
  size_t end = pos + tag.size();
  if (suiteWide(tag)) {
    if (end >= text.size() || text[end] != '-' || end + 1 >= text.size() || !isDigit(text[end + 1])) {
      return false;
    }
    end += 1;
    while (end < text.size() && isDigit(text[end])) ++end;
  }
  return end == text.size() || !isDigit(text[end]);
}

bool namedByTag(const std::string& name, const std::string& tag) { return tagAt(name, 0, tag); }

}  // namespace

bool mentionsTag(const std::string& text, const std::string& tag) {
  for (size_t pos = text.find(tag); pos != std::string::npos; pos = text.find(tag, pos + 1)) {
    if (tagAt(text, pos, tag)) return true;
  }
  return false;
}

namespace {

// Roots of the cgroup hierarchies: /sys/fs/cgroup itself on a pure v2 host
// (it holds cgroup.controllers), else every hierarchy mounted below it.
std::vector<std::string> hierarchyRoots() {
  struct stat st {};
  if (::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0) return {"/sys/fs/cgroup"};
  std::vector<std::string> out;
  for (const auto& ctrl : listDir("/sys/fs/cgroup")) {
    std::string base = "/sys/fs/cgroup/" + ctrl;
    if (isDir(base)) out.push_back(base);
  }
  return out;
}

void walkCgroups(const std::string& dir, std::vector<std::string>& out) {
  out.push_back("cgroup " + dir);
}

}  // namespace

std::vector<std::string> findResidue(const std::string& tag) {
  std::vector<std::string> out;
  // cgroups: any directory named with the tag directly under a hierarchy
  // root that still has children or processes - and, for the suite-wide
  // check (every test process has ended), even an empty one.
  for (const auto& base : hierarchyRoots()) {
    for (const auto& n : listDir(base)) {
      if (!namedByTag(n, tag) || !isDir(base + "/" + n)) continue;
      bool busy = false;
      for (const auto& c : listDir(base + "/" + n)) {
        if (isDir(base + "/" + n + "/" + c)) {
          walkCgroups(base + "/" + n + "/" + c, out);
          busy = true;
        }
      }
      std::istringstream procs(fs::readFile(base + "/" + n + "/cgroup.procs").value_or(""));
      std::string pid;
      if (procs >> pid) {
        out.push_back("process " + pid + " in cgroup " + base + "/" + n);
        busy = true;
      }
      if (!busy && suiteWide(tag)) out.push_back("cgroup " + base + "/" + n + " (an empty tag root)");
    }
  }
  // mounts
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, devno, root, mp;
    ls >> id >> parent >> devno >> root >> mp;
    if (mentionsTag(mp, tag) || mentionsTag(root, tag)) out.push_back("mount " + mp);
  }
  // links (veths and bridges tests make are named wv*/wt*) - only those
  // carrying the tag's pid suffix are attributable when tag is per-process,
  // so links are checked for the suite-wide tag only; so are the default
  // bridge (a test that forgot to name its own) and scratch dirs.
  if (suiteWide(tag)) {
    for (const auto& n : listDir("/sys/class/net")) {
      if (n.rfind("wv", 0) == 0 || n.rfind("wt", 0) == 0) out.push_back("link " + n);
      if (n == "warren0") out.push_back("link warren0 (the default bridge: tests name their own wt*)");
    }
    for (const auto& n : listDir("/run/netns")) {
      if (mentionsTag(n, tag)) out.push_back("netns /run/netns/" + n);
    }
    for (const auto& n : listDir("/tmp")) {
      if (namedByTag(n, tag)) out.push_back("dir /tmp/" + n);
    }
  }
  // processes whose command line mentions the tag, whatever their name (a
  // helper such as a test registry gets its scratch dir), and warren-inits
  // of ours: their command line is just "warren-init" (nothing of the
  // host), but each holds its runtime dir open, and that path carries it.
  std::string self = std::to_string(getpid());
  for (const auto& p : listDir("/proc")) {
    if (p.find_first_not_of("0123456789") != std::string::npos) continue;
    if (p == self) continue;
    // A process that exits meanwhile reads as empty (an ifstream would throw
    // ESRCH from underflow): fs::readFile reports it instead.
    std::string cmd = fs::readFile("/proc/" + p + "/cmdline").value_or("");
    for (auto& c : cmd) if (c == '\0') c = ' ';
    if (cmd.find("residue_check") != std::string::npos) continue;
    bool ours = mentionsTag(cmd, tag);
    for (const auto& fd : cmd.find("warren-init") == std::string::npos ? std::vector<std::string>{}
                                                                        : listDir("/proc/" + p + "/fd")) {
      char buf[4096];
      ssize_t n = readlink(("/proc/" + p + "/fd/" + fd).c_str(), buf, sizeof buf - 1);
      if (n > 0 && mentionsTag(std::string(buf, static_cast<size_t>(n)), tag)) ours = true;
    }
    // a zombie of ours is still residue; a process of another test binary
    // with the suite-wide tag is residue too.
    if (ours) out.push_back("process " + p + " (" + cmd + ")");
  }
  return out;
}

std::vector<std::string> removeCgroupRoots(const std::string& tag) {
  std::vector<std::string> left;
  for (const auto& base : hierarchyRoots()) {
    for (const auto& n : listDir(base)) {
      if (!namedByTag(n, tag)) continue;
      std::string p = base + "/" + n;
      if (!isDir(p)) continue;
      if (rmdir(p.c_str()) != 0) left.push_back("cgroup " + p);
    }
  }
  return left;
}

}  // namespace warren::testing
