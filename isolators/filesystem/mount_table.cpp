#include "mount_table.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include <libmount/libmount.h>

namespace warren::isolators::filesystem {
namespace {

struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterFree {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};
using TablePtr = std::unique_ptr<libmnt_table, TableFree>;
using IterPtr = std::unique_ptr<libmnt_iter, IterFree>;

std::string str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// At or below, by whole components.
bool atOrBelow(const std::string& path, const std::string& prefix) {
  if (prefix.empty()) return false;
  if (prefix == "/") return true;
  if (path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

bool strictlyBelow(const std::string& path, const std::string& prefix) {
  return path != prefix && atOrBelow(path, prefix);
}

// Whether a component of `path` below `root` is one of `names`.
bool hasComponent(const std::string& path, const std::string& root,
                  const std::vector<std::string>& names) {
  if (names.empty()) return false;
  size_t start = root == "/" ? 1 : root.size() + 1;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    std::string comp = path.substr(start, slash - start);
    if (std::find(names.begin(), names.end(), comp) != names.end()) return true;
    start = slash + 1;
  }
  return false;
}

size_t depthOf(const std::string& p) { return static_cast<size_t>(std::count(p.begin(), p.end(), '/')); }

}  // namespace

std::string canonical(const std::string& path) {
  if (path.empty()) return path;
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) != nullptr) return buf;
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

Result<std::vector<MountEntry>> readMountInfo(const std::string& path) {
  TablePtr table(mnt_new_table());
  if (!table) return fail(Code::Internal, "libmount: cannot allocate a table");
  int rc = mnt_table_parse_file(table.get(), path.c_str());
  if (rc != 0) {
    int err = rc < 0 ? -rc : EINVAL;
    return fail(Error::sys(err, "libmount: parse '" + path + "'"));
  }
  IterPtr iter(mnt_new_iter(MNT_ITER_FORWARD));
  if (!iter) return fail(Code::Internal, "libmount: cannot allocate an iterator");
  std::vector<MountEntry> out;
  libmnt_fs* fs = nullptr;
  while ((rc = mnt_table_next_fs(table.get(), iter.get(), &fs)) == 0) {
    MountEntry e;
    e.id = mnt_fs_get_id(fs);
    e.parent_id = mnt_fs_get_parent_id(fs);
    e.target = str(mnt_fs_get_target(fs));
    e.source = str(mnt_fs_get_source(fs));
    e.fstype = str(mnt_fs_get_fstype(fs));
    out.push_back(std::move(e));
  }
  if (rc < 0) return fail(Error::sys(-rc, "libmount: iterate '" + path + "'"));
  return out;
}

std::vector<MountEntry> planSweep(const std::vector<MountEntry>& table, const SweepScope& scope) {
  std::vector<std::pair<size_t, const MountEntry*>> picked;
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& e = table[i];
    auto root = std::find_if(scope.roots.begin(), scope.roots.end(),
                             [&](const std::string& r) { return strictlyBelow(e.target, r); });
    if (root == scope.roots.end()) continue;
    bool skipped = std::any_of(scope.skip.begin(), scope.skip.end(),
                               [&](const std::string& s) { return atOrBelow(e.target, s); });
    if (skipped) continue;
    const OwnedPath* owner = nullptr;
    for (const auto& o : scope.owned) {
      if (atOrBelow(e.target, o.path) && (owner == nullptr || o.path.size() > owner->path.size())) {
        owner = &o;
      }
    }
    if (owner != nullptr && owner->known) continue;
    if (owner == nullptr && hasComponent(e.target, *root, scope.keep_components)) continue;
    picked.emplace_back(i, &e);
  }
  std::stable_sort(picked.begin(), picked.end(), [](const auto& a, const auto& b) {
    size_t da = depthOf(a.second->target), db = depthOf(b.second->target);
    if (da != db) return da > db;
    return a.first > b.first;  // later in mountinfo = on top
  });
  std::vector<MountEntry> plan;
  plan.reserve(picked.size());
  for (const auto& p : picked) plan.push_back(*p.second);
  return plan;
}

SweepResult unmountAll(const std::vector<MountEntry>& plan) {
  SweepResult res;
  for (const auto& e : plan) {
    if (::umount2(e.target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0 || errno == EINVAL ||
        errno == ENOENT) {
      ++res.unmounted;
      continue;
    }
    res.errors.push_back(Error::errnoNow("unmount '" + e.target + "' (" + e.fstype + ")"));
  }
  return res;
}

}  // namespace warren::isolators::filesystem
